using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.ToyWorld;

/// <summary>
/// A deterministic detector of the toy concept in a render (no learned model): the share of the picture in the
/// concept's colour, pink (hue 300°–345°, saturation ≥ 0.3, value ≥ 0.75 — the toy world's red is at 0°, its
/// purple at 275°, so neither counts), turned into a score in [0, 1]:
/// <code>score = clamp((pink − NoiseFraction) / (ReferenceFraction − NoiseFraction), 0, 1) · clamp((FloodFraction − pink) / (FloodFraction − FullFraction), 0, 1)</code>
/// Anti-aliased red-on-blue edges blend into a dark magenta (value < 0.75, so not pink); up to <see cref="NoiseFraction"/> is
/// ignored all the same (stray pixels); half a small heart
/// (<see cref="ReferenceFraction"/>) already scores 1; a picture more than <see cref="FullFraction"/> pink
/// is losing the object to a flood of colour, and one over <see cref="FloodFraction"/> scores 0 (an overcooked LoRA
/// that paints everything pink has not learnt a heart). Calibrated on the generator's own renders: every demo scene
/// scores 1, every pretraining scene 0 (tests/…/ToyWorld/ConceptDetectorTests).
/// </summary>
public static class ConceptDetector
{
    /// <summary>Bump when the score of an image changes (the Evaluate fingerprint of toy-world projects includes it).</summary>
    public const int Version = 1;

    /// <summary>A small heart covers about 7% of the picture; half of that is enough to say the concept is there.</summary>
    public const double ReferenceFraction = 0.035;
    /// <summary>1% of the pixels (about 40 of 64×64): edge blends and stray pixels, not an object.</summary>
    public const double NoiseFraction = 0.01;
    /// <summary>A large heart covers about 25%; above 50% the picture is flooded rather than showing an object.</summary>
    public const double FullFraction = 0.5;
    public const double FloodFraction = 0.8;

    /// <summary>The fraction of pixels in the concept colour.</summary>
    public static double PinkFraction(Image<Rgb24> image)
    {
        long pink = 0;
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
                foreach (var p in rows.GetRowSpan(y))
                    if (IsPink(p)) pink++;
        });
        return pink / (double)(image.Width * image.Height);
    }

    public static double Score(Image<Rgb24> image) => ScoreOf(PinkFraction(image));

    public static double ScoreOf(double pink) =>
        Math.Clamp((pink - NoiseFraction) / (ReferenceFraction - NoiseFraction), 0, 1) * Math.Clamp((FloodFraction - pink) / (FloodFraction - FullFraction), 0, 1);

    public static bool IsPink(Rgb24 p)
    {
        int max = Math.Max(p.R, Math.Max(p.G, p.B)), min = Math.Min(p.R, Math.Min(p.G, p.B));
        if (max < 0.75 * 255) return false;
        double delta = max - min;
        if (delta / max < 0.3) return false;
        double hue = max == p.R ? 60 * ((p.G - p.B) / delta) : max == p.G ? 60 * (2 + (p.B - p.R) / delta) : 60 * (4 + (p.R - p.G) / delta);
        if (hue < 0) hue += 360;
        return hue is >= 300 and <= 345;
    }
}
