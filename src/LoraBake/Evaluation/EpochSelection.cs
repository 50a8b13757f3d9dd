using System.Globalization;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>
/// Which saved epochs a grid shows: `all`, `every N` (epochs divisible by N, plus the latest saved one so the
/// final file is always judged — kohya also saves the last epoch off the N cadence), or a list with the X/Y/Z
/// range syntax (`2,4,6`, `2-10 (+2)`). Listed epochs must have been saved.
/// </summary>
public static class EpochSelection
{
    public static IReadOnlyList<int> Select(string text, IReadOnlyList<int> available, string key)
    {
        var saved = available.Distinct().Order().ToList();
        if (saved.Count == 0)
            throw new UserError($"{key}: there are no saved epochs to evaluate. Run the Train stage first.");
        var t = text.Trim().ToLowerInvariant();
        if (t is "all" or "") return saved;
        if (t.StartsWith("every", StringComparison.Ordinal))
        {
            if (!int.TryParse(t[5..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                throw new UserError($"{key}: \"{text}\" should be \"every N\" with N a whole number ≥ 1 (e.g. \"every 2\").");
            return saved.Where(e => e % n == 0 || e == saved[^1]).ToList();
        }
        var wanted = AxisParser.ExpandInts(text, key);
        var missing = wanted.Where(e => !saved.Contains((int)e)).ToList();
        if (missing.Count > 0)
            throw new UserError($"{key}: epoch {string.Join(", ", missing)} was not saved; saved epochs are {string.Join(", ", saved)}. "
                + "Pick from those, or use \"all\" / \"every N\".");
        if (wanted.Count == 0)
            throw new UserError($"{key}: \"{text}\" selects no epochs; write \"all\", \"every N\" or a list such as \"2,4,6\".");
        return wanted.Select(e => (int)e).Distinct().ToList();
    }
}
