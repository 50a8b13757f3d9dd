using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using static LoraBake.Tests.Data.DataTestFiles;

namespace LoraBake.Tests.Data;

/// <summary>
/// A dataset folder with one file for every case the Process stage must handle, and the outcome each should get.
/// Used images (resolution 512): 13 in the folder itself, 2 in "5_bakechan style" (5 repeats), 1 in "plain".
/// </summary>
internal static class DataTestDataset
{
    public static readonly Rgba32 Red = new(220, 30, 30, 255);
    public static readonly Rgba32 Blue = new(30, 30, 220, 255);

    /// <summary>Paths (relative to the dataset folder) and the expected status; skipped ones with a reason fragment.</summary>
    public static readonly IReadOnlyDictionary<string, (string Status, string? Reason)> Expected = new Dictionary<string, (string, string?)>
    {
        ["rotated.jpg"] = ("used", null),
        ["rgba.png"] = ("used", null),
        ["cmyk.jpg"] = ("used", null),
        ["deep16.png"] = ("used", null),
        ["photo.webp"] = ("used", null),
        ["gray.png"] = ("used", null),
        ["upper.BMP"] = ("used", null),
        ["tiny.png"] = ("used", null),
        ["huge.png"] = ("used", null),
        ["messy.png"] = ("used", null),
        ["dup_a.png"] = ("used", null),
        ["dup_b.png"] = ("skipped", "duplicate of dup_a.png"),
        ["café_ñ_猫.png"] = ("used", null),
        ["nocaption.png"] = ("used", null),
        ["truncated.png"] = ("skipped", "truncated PNG"),
        ["truncated.jpg"] = ("skipped", "truncated JPEG"),
        ["empty.jpg"] = ("skipped", "empty file"),
        ["fake.png"] = ("skipped", "not an image"),
        ["bomb.png"] = ("skipped", "60000x60000"),
        [".DS_Store"] = ("skipped", "hidden file"),
        ["notes.md"] = ("skipped", "not an image (.md)"),
        ["5_bakechan style/a.png"] = ("used", null),
        ["5_bakechan style/b.png"] = ("used", null),
        ["plain/c.png"] = ("used", null),
    };

    public static void Create(string dataset)
    {
        Directory.CreateDirectory(dataset);
        void Write(string rel, byte[] bytes)
        {
            var path = Path.Combine(dataset, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }
        void Caption(string rel, string text) => Write(rel, Encoding.UTF8.GetBytes(text));

        using var square = Halves(64, 64, Red, Blue);
        using (var landscape = Halves(96, 64, Red, Blue)) Write("rotated.jpg", Jpeg(landscape, orientation: 6));
        Caption("rotated.txt", "bakechan, rotated");
        using (var alpha = Halves(64, 64, new Rgba32(0, 0, 0, 0), Red)) Write("rgba.png", Png(alpha, PngColorType.RgbWithAlpha));
        Write("cmyk.jpg", CmykJpeg);
        Write("deep16.png", Png(square, PngColorType.Rgb, PngBitDepth.Bit16));
        Write("photo.webp", Webp(square));
        Write("gray.png", Png(square, PngColorType.Grayscale));
        Write("upper.BMP", Bmp(square));
        using (var tiny = Halves(8, 8, Red, Blue)) Write("tiny.png", Png(tiny));
        using (var huge = Halves(2400, 1600, Red, Blue)) Write("huge.png", Png(huge));
        Write("messy.png", Png(square, PngColorType.Palette));
        Write("messy.txt", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("bakechan,  red hair,,red hair , smile ,\r\nsecond line, ignored\r\n")]);
        using (var other = Halves(64, 64, Blue, Red))
        {
            var dup = Png(other);
            Write("dup_a.png", dup);
            Write("dup_b.png", dup);
        }
        Caption("dup_a.txt", "bakechan, blue");
        Caption("dup_b.txt", "bakechan, blue");
        using (var uni = Halves(64, 64, Red, Red)) Write("café_ñ_猫.png", Png(uni));
        Caption("café_ñ_猫.txt", "bakechan, café");
        using (var nc = Halves(64, 64, Blue, Blue)) Write("nocaption.png", Png(nc));
        var good = Png(square);
        Write("truncated.png", good[..(good.Length / 2)]);
        var goodJpeg = Jpeg(square);
        Write("truncated.jpg", goodJpeg[..^10]);
        Write("empty.jpg", []);
        Caption("fake.png", "this is not a picture");
        Write("bomb.png", PngBomb());
        Caption("ghost.txt", "bakechan, orphan");
        Caption(".DS_Store", "junk");
        Caption("notes.md", "# notes");
        using (var a = Halves(64, 64, Red, new Rgba32(30, 220, 30, 255))) Write("5_bakechan style/a.png", Png(a));
        Caption("5_bakechan style/a.txt", "bakechan, green");
        using (var b = Halves(64, 64, new Rgba32(30, 220, 30, 255), Red)) Write("5_bakechan style/b.png", Png(b));
        using (var c = Halves(64, 64, new Rgba32(200, 200, 30, 255), Red)) Write("plain/c.png", Png(c));
        Caption("plain/c.txt", "bakechan, yellow");
    }
}
