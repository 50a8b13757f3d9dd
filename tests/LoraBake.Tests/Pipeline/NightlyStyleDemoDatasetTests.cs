using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Pipeline;

/// <summary>
/// projects/style-demo/dataset: four 512×512 pictures in one flat "style" (a fixed three-colour palette, hard
/// stripes and discs, no gradients) of different subjects, captioned with the trigger "bakestyle". Drawn here so
/// the committed files can be reproduced; run with LORABAKE_REGENERATE_STYLE_DEMO=1 to rewrite them.
/// </summary>
public class NightlyStyleDemoDatasetTests
{
    private static readonly Rgb24 Ink = new(40, 30, 60), Paper = new(245, 235, 210), Accent = new(220, 80, 60);

    private static readonly (string Name, string Tags, Func<int, int, Rgb24> Pixel)[] Scenes =
    [
        ("01_sun", "scenery, sun, horizon", (x, y) => Disc(x, y, 128, 96, 50) ? Accent : y > 170 ? Ink : Paper),
        ("02_tower", "scenery, tower, building", (x, y) => x is > 104 and < 152 && y > 60 ? Ink : (y / 16) % 2 == 0 ? Paper : Accent),
        ("03_face", "1girl, portrait, simple background", (x, y) => Disc(x, y, 128, 128, 80) ? (Disc(x, y, 100, 110, 8) || Disc(x, y, 156, 110, 8) ? Ink : Paper) : Accent),
        ("04_fruit", "still life, apple, table", (x, y) => Disc(x, y, 96, 150, 40) || Disc(x, y, 170, 156, 34) ? Accent : y > 190 ? Ink : Paper),
    ];

    private static bool Disc(int x, int y, int cx, int cy, int r) => (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;

    internal static void Generate(string dir)
    {
        Directory.CreateDirectory(dir);
        var encoder = new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8, CompressionLevel = PngCompressionLevel.BestCompression, ChunkFilter = PngChunkFilter.ExcludeAll };
        foreach (var (name, tags, pixel) in Scenes)
        {
            // Drawn on a 256 grid and scaled ×2: hard edges, the smallest size the recipe allows (512).
            using var image = new Image<Rgb24>(512, 512);
            for (var y = 0; y < 512; y++)
                for (var x = 0; x < 512; x++)
                    image[x, y] = pixel(x / 2, y / 2);
            image.Save(Path.Combine(dir, name + ".png"), encoder);
            File.WriteAllText(Path.Combine(dir, name + ".txt"), $"bakestyle, {tags}\n");
        }
    }

    [Fact]
    public void Style_demo_dataset_matches_its_generator()
    {
        var committed = Path.Combine(RepoFolder.Root, "projects", "style-demo", "dataset");
        if (Environment.GetEnvironmentVariable("LORABAKE_REGENERATE_STYLE_DEMO") == "1") Generate(committed);
        using var dir = new TempFolder("lorabake-style-demo-");
        Generate(dir);
        var files = Directory.EnumerateFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(8, files.Count);
        Assert.Equal(files, Directory.EnumerateFiles(committed).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        foreach (var name in files)
            Assert.True(File.ReadAllBytes(Path.Combine(dir, name!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(committed, name!))),
                $"{name} differs from projects/style-demo/dataset/{name}: rerun with LORABAKE_REGENERATE_STYLE_DEMO=1");
    }
}
