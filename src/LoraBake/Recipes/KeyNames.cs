using System.Reflection;
using System.Text;

namespace LoraBake.Recipes;

/// <summary>YAML key names: snake_case of the C# property names, and "did you mean" suggestions.</summary>
public static class KeyNames
{
    /// <summary>UnetLr → unet_lr, SaveEveryNEpochs → save_every_n_epochs, VaeSha256 → vae_sha256, XAxis → x_axis.</summary>
    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                char prev = name[i - 1];
                bool nextLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(prev) || char.IsDigit(prev) || (char.IsUpper(prev) && nextLower)) sb.Append('_');
            }
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>The settable public properties of a settings record, by YAML key.</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> Keys(Type record) =>
        record.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.SetMethod!.IsPublic)
            .ToDictionary(p => SnakeCase(p.Name), p => p);

    /// <summary>The candidate closest to <paramref name="typo"/>, if it is close enough to be a likely misspelling.</summary>
    public static string? Closest(string typo, IEnumerable<string> candidates)
    {
        var t = typo.ToLowerInvariant().Replace('-', '_');
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Levenshtein(t, c);
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        if (best == null) return null;
        // One edit for short keys, up to a third of the length for longer ones (unet_lrr, lr_sheduler, netwrok_dim).
        int allowed = Math.Max(1, Math.Min(4, Math.Max(t.Length, best.Length) / 3));
        return bestDistance <= allowed ? best : null;
    }

    public static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
