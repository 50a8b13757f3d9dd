using LoraBake.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Data;

/// <summary>
/// The recipe's `background:` — what transparent pixels are flattened onto: a W3C colour name or #RRGGBB,
/// parsed by ImageSharp's Color.TryParse (the same parser the recipe validator uses). Any alpha is ignored.
/// </summary>
public static class BackgroundColor
{
    /// <summary>Parse a colour; <paramref name="where"/> names the recipe place for the error message.</summary>
    public static Rgb24 Parse(string value, string where = "dataset.background")
    {
        if (Color.TryParse(value.Trim(), out var color)) return color.ToPixel<Rgb24>();
        throw new UserError($"{where}: '{value}' is not a colour. Use #RRGGBB (e.g. #FFFFFF) or a colour name (white, black, gray).");
    }

    /// <summary>The canonical form (#RRGGBB) used in cache keys, so "white" and "#FFFFFF" cache alike.</summary>
    public static string Canonical(Rgb24 c) => $"#{c.R:X2}{c.G:X2}{c.B:X2}";
}
