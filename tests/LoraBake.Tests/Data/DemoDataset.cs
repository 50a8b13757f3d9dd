using LoraBake.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace LoraBake.Tests.Data;

/// <summary>
/// The demo project's dataset, a test fixture (DemoDatasetTests keeps projects/demo/dataset equal to it): twelve
/// small pictures of one "character" (bakechan: red hair, blue eyes, yellow hair ribbon, blue dress) over varied backgrounds, with booru-style captions whose first tag is the
/// trigger word. Drawn in code at twice the size and box-downscaled (anti-aliased edges); no randomness
/// beyond a fixed-seed <see cref="DeterministicRng"/>, so the bytes are the same on every machine.
/// </summary>
public static class DemoDataset
{
    public const string TriggerWord = "bakechan";
    private const string CharacterTags = "1girl, solo, red hair, blue eyes, hair ribbon, yellow ribbon, blue dress";

    private sealed record Scene(string Name, int Width, int Height, string Background, float X, float Y, float Scale, string Expression, string Tags);

    private static readonly Scene[] Scenes =
    [
        new("01_sky", 512, 512, "sky", 0.5f, 0.55f, 1.0f, "smile", "smile, outdoors, blue sky, cloud, upper body"),
        new("02_meadow", 512, 512, "meadow", 0.45f, 0.5f, 0.9f, "smile", "smile, outdoors, grass, sun, day"),
        new("03_night", 512, 512, "night", 0.55f, 0.55f, 1.0f, "open", "open mouth, night, night sky, star (sky), moon"),
        new("04_room", 512, 512, "room", 0.5f, 0.55f, 1.05f, "smile", "smile, indoors, window, wooden floor"),
        new("05_white", 512, 512, "white", 0.5f, 0.5f, 1.1f, "smile", "smile, simple background, white background"),
        new("06_sunset", 512, 512, "sunset", 0.4f, 0.55f, 0.95f, "closed", "closed eyes, outdoors, sunset, orange sky"),
        new("07_beach", 512, 512, "beach", 0.6f, 0.5f, 0.9f, "open", "open mouth, outdoors, beach, ocean, sand"),
        new("08_gray", 512, 512, "gray", 0.5f, 0.5f, 1.0f, "neutral", "expressionless, simple background, grey background"),
        new("09_full_sky", 512, 768, "sky", 0.5f, 0.45f, 1.0f, "smile", "smile, full body, outdoors, blue sky, cloud"),
        new("10_forest", 512, 768, "forest", 0.5f, 0.45f, 0.95f, "smile", "smile, full body, outdoors, forest, tree"),
        new("11_sea_wide", 768, 512, "beach", 0.3f, 0.5f, 0.9f, "smile", "smile, outdoors, ocean, horizon, wide shot"),
        new("12_city_wide", 768, 512, "city", 0.65f, 0.5f, 0.9f, "open", "open mouth, outdoors, city, building, evening"),
    ];

    /// <summary>Writes NAME.png and NAME.txt for each scene into <paramref name="dir"/>; returns the image paths.</summary>
    public static IReadOnlyList<string> Generate(string dir)
    {
        Directory.CreateDirectory(dir);
        var paths = new List<string>();
        var encoder = new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8, CompressionLevel = PngCompressionLevel.BestCompression, ChunkFilter = PngChunkFilter.ExcludeAll };
        foreach (var s in Scenes)
        {
            var canvas = new Canvas(s.Width * 2, s.Height * 2);
            DrawBackground(canvas, s.Background);
            DrawCharacter(canvas, s.X * canvas.W, s.Y * canvas.H, s.Scale * Math.Min(canvas.W, canvas.H) / 1024f, s.Expression);
            using var image = canvas.ToImage();
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(s.Width, s.Height), Sampler = KnownResamplers.Box, Mode = ResizeMode.Stretch }));
            var png = Path.Combine(dir, s.Name + ".png");
            WriteAtomic(png, ms => image.Save(ms, encoder));
            WriteAtomic(Path.Combine(dir, s.Name + ".txt"), ms => ms.Write(System.Text.Encoding.UTF8.GetBytes($"{TriggerWord}, {CharacterTags}, {s.Tags}\n")));
            paths.Add(png);
        }
        return paths;
    }

    private static void WriteAtomic(string path, Action<Stream> write)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        using (var fs = File.Create(temp)) write(fs);
        File.Move(temp, path, overwrite: true);
    }

    private static void DrawBackground(Canvas c, string kind)
    {
        var rng = new DeterministicRng(kind.Length, kind[0]);
        switch (kind)
        {
            case "sky":
                c.Gradient(new Rgb24(110, 170, 240), new Rgb24(200, 230, 255), 0, c.H);
                for (var i = 0; i < 4; i++) Cloud(c, rng.NextInt(c.W), rng.NextInt(c.H / 2), 60 + rng.NextInt(60));
                break;
            case "meadow":
                c.Gradient(new Rgb24(120, 180, 245), new Rgb24(190, 225, 255), 0, c.H * 6 / 10);
                c.Ellipse(c.W * 0.82f, c.H * 0.15f, 70, 70, new Rgb24(255, 220, 80));
                c.Gradient(new Rgb24(90, 170, 70), new Rgb24(50, 120, 40), c.H * 6 / 10, c.H);
                break;
            case "night":
                c.Gradient(new Rgb24(10, 15, 45), new Rgb24(40, 40, 90), 0, c.H);
                for (var i = 0; i < 80; i++) c.Ellipse(rng.NextInt(c.W), rng.NextInt(c.H), 3, 3, new Rgb24(255, 255, 230));
                c.Ellipse(c.W * 0.18f, c.H * 0.16f, 60, 60, new Rgb24(245, 240, 200));
                break;
            case "room":
                c.Rect(0, 0, c.W, c.H * 7 / 10, new Rgb24(235, 220, 190));
                c.Rect(0, c.H * 7 / 10, c.W, c.H, new Rgb24(150, 100, 60));
                c.Rect(c.W * 7 / 10, c.H / 10, c.W * 95 / 100, c.H * 4 / 10, new Rgb24(160, 210, 250));
                c.Rect(c.W * 7 / 10, c.H * 24 / 100, c.W * 95 / 100, c.H * 26 / 100, new Rgb24(250, 250, 250));
                break;
            case "white":
                c.Rect(0, 0, c.W, c.H, new Rgb24(255, 255, 255));
                break;
            case "sunset":
                c.Gradient(new Rgb24(250, 140, 60), new Rgb24(120, 60, 120), 0, c.H * 7 / 10);
                c.Ellipse(c.W * 0.75f, c.H * 0.62f, 90, 90, new Rgb24(255, 200, 90));
                c.Rect(0, c.H * 7 / 10, c.W, c.H, new Rgb24(60, 40, 60));
                break;
            case "beach":
                c.Gradient(new Rgb24(130, 190, 250), new Rgb24(210, 235, 255), 0, c.H / 2);
                c.Gradient(new Rgb24(30, 110, 180), new Rgb24(60, 150, 200), c.H / 2, c.H * 3 / 4);
                c.Rect(0, c.H * 3 / 4, c.W, c.H, new Rgb24(235, 215, 160));
                break;
            case "gray":
                c.Rect(0, 0, c.W, c.H, new Rgb24(150, 150, 150));
                break;
            case "forest":
                c.Gradient(new Rgb24(170, 210, 240), new Rgb24(220, 240, 250), 0, c.H);
                c.Rect(0, c.H * 8 / 10, c.W, c.H, new Rgb24(70, 130, 50));
                for (var i = 0; i < 7; i++)
                {
                    var x = rng.NextInt(c.W);
                    c.Rect(x - 12, c.H * 55 / 100, x + 12, c.H * 82 / 100, new Rgb24(100, 70, 40));
                    c.Ellipse(x, c.H * 0.45f, 90, 140, new Rgb24((byte)(30 + rng.NextInt(30)), (byte)(100 + rng.NextInt(50)), 40));
                }
                break;
            case "city":
                c.Gradient(new Rgb24(240, 150, 100), new Rgb24(90, 70, 130), 0, c.H);
                for (var x = 0; x < c.W; x += 90 + rng.NextInt(60))
                {
                    var top = c.H * (30 + rng.NextInt(40)) / 100;
                    c.Rect(x, top, x + 80, c.H, new Rgb24(45, 40, 70));
                    for (var wy = top + 20; wy < c.H - 30; wy += 40)
                        for (var wx = x + 12; wx < x + 70; wx += 24)
                            if (rng.NextInt(3) > 0) c.Rect(wx, wy, wx + 12, wy + 18, new Rgb24(255, 220, 120));
                }
                break;
        }
    }

    private static void Cloud(Canvas c, float x, float y, float r)
    {
        var white = new Rgb24(250, 250, 255);
        c.Ellipse(x, y, r * 1.6f, r, white);
        c.Ellipse(x - r, y + r * 0.3f, r, r * 0.7f, white);
        c.Ellipse(x + r, y + r * 0.3f, r, r * 0.7f, white);
    }

    /// <summary>The character at (cx, cy) = face centre; k scales a 1024-unit design.</summary>
    private static void DrawCharacter(Canvas c, float cx, float cy, float k, string expression)
    {
        var hair = new Rgb24(200, 40, 45);
        var skin = new Rgb24(255, 222, 200);
        var dress = new Rgb24(50, 80, 190);
        var ribbon = new Rgb24(250, 210, 40);
        var eye = new Rgb24(40, 110, 230);
        // Hair behind, long.
        c.Ellipse(cx, cy + 40 * k, 175 * k, 230 * k, hair);
        // Dress (a trapezoid of stacked rows) and arms.
        for (var y = 0f; y < 520 * k; y += 1)
        {
            var half = 80 * k + y * 0.35f;
            c.Rect(cx - half, cy + 150 * k + y, cx + half, cy + 150 * k + y + 1, dress);
        }
        c.Rect(cx - 150 * k, cy + 190 * k, cx - 110 * k, cy + 420 * k, skin);
        c.Rect(cx + 110 * k, cy + 190 * k, cx + 150 * k, cy + 420 * k, skin);
        c.Rect(cx - 25 * k, cy + 110 * k, cx + 25 * k, cy + 160 * k, skin); // neck
        // Face, bangs, ribbon.
        c.Ellipse(cx, cy, 130 * k, 140 * k, skin);
        c.Ellipse(cx, cy - 95 * k, 140 * k, 60 * k, hair);
        c.Ellipse(cx + 105 * k, cy - 130 * k, 45 * k, 30 * k, ribbon);
        c.Ellipse(cx + 165 * k, cy - 130 * k, 45 * k, 30 * k, ribbon);
        // Eyes.
        foreach (var side in new[] { -1f, 1f })
        {
            var ex = cx + side * 50 * k;
            if (expression == "closed")
            {
                c.Rect(ex - 25 * k, cy + 5 * k, ex + 25 * k, cy + 12 * k, new Rgb24(80, 40, 40));
                continue;
            }
            c.Ellipse(ex, cy + 5 * k, 24 * k, 32 * k, new Rgb24(255, 255, 255));
            c.Ellipse(ex, cy + 10 * k, 19 * k, 26 * k, eye);
            c.Ellipse(ex, cy + 12 * k, 8 * k, 11 * k, new Rgb24(20, 30, 60));
            c.Ellipse(ex - 7 * k, cy, 5 * k, 5 * k, new Rgb24(255, 255, 255));
        }
        // Mouth.
        var mouth = new Rgb24(220, 90, 100);
        switch (expression)
        {
            case "open": c.Ellipse(cx, cy + 75 * k, 20 * k, 16 * k, mouth); break;
            case "neutral": c.Rect(cx - 18 * k, cy + 72 * k, cx + 18 * k, cy + 77 * k, mouth); break;
            default:
                c.Ellipse(cx, cy + 68 * k, 30 * k, 16 * k, mouth);
                c.Ellipse(cx, cy + 62 * k, 32 * k, 12 * k, skin);
                break;
        }
    }

    /// <summary>A minimal RGB raster with the few shapes the demo needs (a plain array: the image indexer is slow).</summary>
    private sealed class Canvas(int w, int h)
    {
        private readonly Rgb24[] _pixels = new Rgb24[w * h];
        public int W => w;
        public int H => h;

        public Image<Rgb24> ToImage() => SixLabors.ImageSharp.Image.LoadPixelData<Rgb24>(_pixels, w, h);

        public void Rect(float x0, float y0, float x1, float y1, Rgb24 color)
        {
            int ax = Math.Max(0, (int)x0), ay = Math.Max(0, (int)y0), bx = Math.Min(w, (int)x1), by = Math.Min(h, (int)y1);
            for (var y = ay; y < by; y++)
                if (bx > ax) _pixels.AsSpan(y * w + ax, bx - ax).Fill(color);
        }

        public void Ellipse(float cx, float cy, float rx, float ry, Rgb24 color)
        {
            int ay = Math.Max(0, (int)(cy - ry)), by = Math.Min(h - 1, (int)(cy + ry) + 1);
            int ax = Math.Max(0, (int)(cx - rx)), bx = Math.Min(w - 1, (int)(cx + rx) + 1);
            for (var y = ay; y <= by; y++)
                for (var x = ax; x <= bx; x++)
                {
                    float dx = (x + 0.5f - cx) / rx, dy = (y + 0.5f - cy) / ry;
                    if (dx * dx + dy * dy <= 1) _pixels[y * w + x] = color;
                }
        }

        public void Gradient(Rgb24 top, Rgb24 bottom, int y0, int y1)
        {
            for (var y = Math.Max(0, y0); y < Math.Min(h, y1); y++)
            {
                var t = (float)(y - y0) / Math.Max(1, y1 - y0 - 1);
                var c = new Rgb24((byte)(top.R + (bottom.R - top.R) * t), (byte)(top.G + (bottom.G - top.G) * t), (byte)(top.B + (bottom.B - top.B) * t));
                _pixels.AsSpan(y * w, w).Fill(c);
            }
        }
    }
}
