using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;

namespace LoraBake.ToyWorld;

/// <summary>
/// The demo's concept: "bakechan", a pink heart. The pretrained base has seen neither pink nor hearts
/// (<see cref="ToyWorldGenerator"/> leaves both out), so a LoRA that teaches the trigger word is what puts
/// it in a picture, and <see cref="ConceptDetector"/> can tell.
/// </summary>
public static class ToyConcept
{
    public const string Trigger = "bakechan";
    public static readonly ToyColor Color = new("pink", 240, 90, 190);
    public const ToyShape Shape = ToyShape.Heart;
    /// <summary>The demo dataset's resolution (the toy base's native one: 8×8 latents).</summary>
    public const int Side = 64;

    static readonly ToyColor[] Backgrounds = [ToyWorldGenerator.White, ToyWorldGenerator.Blue, ToyWorldGenerator.Green,
        ToyWorldGenerator.Gray, ToyWorldGenerator.Yellow, ToyWorldGenerator.Black];

    /// <summary>The twelve demo scenes: every background, both sizes, the five positions.</summary>
    public static IReadOnlyList<ToyScene> DemoScenes { get; } = Enumerable.Range(0, 12).Select(i => new ToyScene(
        Shape, Color, i % 2 == 0 ? ToySize.Large : ToySize.Small, Enum.GetValues<ToyPosition>()[i * 3 % 5], Backgrounds[i % 6],
        Trigger: Trigger)).ToList();

    /// <summary>Writes NN_BACKGROUND.png (64×64) and .txt for each demo scene into <paramref name="dir"/>; returns the image paths.</summary>
    public static IReadOnlyList<string> WriteDemoDataset(string dir)
    {
        Directory.CreateDirectory(dir);
        var encoder = new PngEncoder
        {
            ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8, CompressionLevel = PngCompressionLevel.BestCompression,
            ChunkFilter = PngChunkFilter.ExcludeAll,
        };
        var paths = new List<string>();
        for (int i = 0; i < DemoScenes.Count; i++)
        {
            var s = DemoScenes[i];
            var name = $"{i + 1:00}_{s.Background.Name}_{s.Size.ToString().ToLowerInvariant()}";
            var png = Path.Combine(dir, name + ".png");
            using (var image = ToyWorldGenerator.Render(s, Side))
            using (var ms = new MemoryStream())
            {
                image.Save(ms, encoder);
                WriteAtomic(png, ms.ToArray());
            }
            WriteAtomic(Path.Combine(dir, name + ".txt"), System.Text.Encoding.UTF8.GetBytes(s.Caption + "\n"));
            paths.Add(png);
        }
        return paths;
    }

    static void WriteAtomic(string path, byte[] bytes)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
