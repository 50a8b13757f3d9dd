using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>Per-image measurements (all in [0, 1] except <see cref="HighFrequencyEnergy"/>).</summary>
/// <param name="MeanSaturation">Mean HSV saturation (max−min)/max over pixels; 0 for grey.</param>
/// <param name="HighFrequencyEnergy">Mean squared 4-neighbour Laplacian of luma (luma in [0,1]) over interior pixels; noise and fried detail raise it.</param>
/// <param name="BlackFraction">Pixels with every channel ≤ <see cref="ImageMetrics.NearBlack"/>. A NaN latent decodes to black here (the renderer maps NaN to 0), so NaN renders count as black.</param>
/// <param name="WhiteFraction">Pixels with every channel ≥ <see cref="ImageMetrics.NearWhite"/>.</param>
public sealed record ImageStats(double MeanSaturation, double HighFrequencyEnergy, double BlackFraction, double WhiteFraction)
{
    public static ImageStats Mean(IReadOnlyList<ImageStats> all) => new(
        all.Average(s => s.MeanSaturation), all.Average(s => s.HighFrequencyEnergy),
        all.Average(s => s.BlackFraction), all.Average(s => s.WhiteFraction));
}

/// <summary>Cheap image statistics for diagnosing a LoRA's grid; heuristics, not a quality score.</summary>
public static class ImageMetrics
{
    public const byte NearBlack = 8;
    public const byte NearWhite = 247;

    public static ImageStats Measure(Image<Rgb24> image)
    {
        var rgb = ToRgb(image);
        return Measure(rgb, image.Width, image.Height);
    }

    /// <summary><paramref name="rgb"/> is width·height·3 bytes, row-major, R G B.</summary>
    public static ImageStats Measure(ReadOnlySpan<byte> rgb, int width, int height)
    {
        var n = width * height;
        if (rgb.Length != n * 3) throw new ArgumentException($"{rgb.Length} bytes for {width}×{height} RGB.", nameof(rgb));
        double sat = 0;
        long black = 0, white = 0;
        var luma = new double[n];
        for (var i = 0; i < n; i++)
        {
            byte r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
            int max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b));
            if (max > 0) sat += (max - min) / (double)max;
            if (max <= NearBlack) black++;
            if (min >= NearWhite) white++;
            luma[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0;
        }
        double hf = 0;
        long count = 0;
        for (var y = 1; y < height - 1; y++)
            for (var x = 1; x < width - 1; x++)
            {
                var i = y * width + x;
                var lap = luma[i - 1] + luma[i + 1] + luma[i - width] + luma[i + width] - 4 * luma[i];
                hf += lap * lap;
                count++;
            }
        return new ImageStats(sat / n, count == 0 ? 0 : hf / count, black / (double)n, white / (double)n);
    }

    /// <summary>
    /// Effect size between two same-size images: mean absolute difference over all channels, divided by 255,
    /// so 0 = identical and 1 = black against white. Chosen over SSIM for being obvious and cheap.
    /// </summary>
    public static double MeanAbsoluteDifference(Image<Rgb24> a, Image<Rgb24> b) => MeanAbsoluteDifference(ToRgb(a), ToRgb(b));

    public static double MeanAbsoluteDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("Images differ in size.");
        long sum = 0;
        for (var i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
        return a.Length == 0 ? 0 : sum / (255.0 * a.Length);
    }

    /// <summary>Mean <see cref="MeanAbsoluteDifference"/> over all pairs; null for fewer than two images.</summary>
    public static double? MeanPairwiseDifference(IReadOnlyList<Image<Rgb24>> images) =>
        MeanPairwiseDifference(images.Select(ToRgb).ToList());

    /// <summary>The same over RGB byte arrays.</summary>
    public static double? MeanPairwiseDifference(IReadOnlyList<byte[]> rgb)
    {
        if (rgb.Count < 2) return null;
        double sum = 0;
        var pairs = 0;
        for (var i = 0; i < rgb.Count; i++)
            for (var j = i + 1; j < rgb.Count; j++, pairs++)
                sum += MeanAbsoluteDifference(rgb[i], rgb[j]);
        return sum / pairs;
    }

    public static byte[] ToRgb(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }
}
