using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Evaluation;

/// <summary>Deterministic test pictures: smooth gradients (a "normal" render), noise, flat colours.</summary>
static class SyntheticImages
{
    /// <summary>A smooth two-axis gradient whose direction and colours depend on <paramref name="variant"/>.</summary>
    public static Image<Rgb24> Gradient(int w, int h, int variant, int tint = 0)
    {
        var img = new Image<Rgb24>(w, h);
        var a = variant * 37 % 100;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var u = (x * (1 + variant % 3) + y * (1 + variant % 2) + a) % (w + h) / (double)(w + h);
                img[x, y] = new Rgb24(Clamp(60 + 120 * u + tint), Clamp(80 + 90 * (1 - u) + variant * 13 % 40), Clamp(100 + 60 * u - tint));
            }
        return img;
    }

    public static Image<Rgb24> Noise(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var img = new Image<Rgb24>(w, h);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                img[x, y] = new Rgb24((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256));
        return img;
    }

    public static Image<Rgb24> Solid(int w, int h, Rgb24 c) => new(w, h, c);

    static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);

    public static int DarkPixels(Image<Rgb24> img, Rectangle r)
    {
        var n = 0;
        for (var y = r.Top; y < r.Bottom; y++)
            for (var x = r.Left; x < r.Right; x++)
                if (img[x, y].R < 128) n++;
        return n;
    }
}
