using System.Globalization;
using LoraBake.Runtime;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Data;

/// <summary>The recipe's `background:` — what transparent pixels are flattened onto: a CSS-style name or #RRGGBB.</summary>
public static class BackgroundColor
{
    private static readonly Dictionary<string, Rgb24> Named = new(StringComparer.OrdinalIgnoreCase)
    {
        ["white"] = new(255, 255, 255),
        ["black"] = new(0, 0, 0),
        ["gray"] = new(128, 128, 128),
        ["grey"] = new(128, 128, 128),
        ["red"] = new(255, 0, 0),
        ["green"] = new(0, 128, 0),
        ["blue"] = new(0, 0, 255),
        ["yellow"] = new(255, 255, 0),
        ["cyan"] = new(0, 255, 255),
        ["magenta"] = new(255, 0, 255),
    };

    public static IReadOnlyCollection<string> Names => Named.Keys;

    /// <summary>Parse a colour; <paramref name="where"/> names the recipe place for the error message.</summary>
    public static Rgb24 Parse(string value, string where = "dataset.background")
    {
        var v = value.Trim();
        if (Named.TryGetValue(v, out var c)) return c;
        if (v.Length == 7 && v[0] == '#' && uint.TryParse(v.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rgb))
            return new Rgb24((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
        throw new UserError($"{where}: '{value}' is not a colour. Use #RRGGBB (e.g. #FFFFFF) or one of: {string.Join(", ", Named.Keys)}.");
    }

    /// <summary>The canonical form (#RRGGBB) used in fingerprints, so "white" and "#FFFFFF" cache alike.</summary>
    public static string Canonical(Rgb24 c) => $"#{c.R:X2}{c.G:X2}{c.B:X2}";
}
