using LoraBake.Models;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>The golden tiny_a checkpoint loaded once per test class, and what the generate tests compare.</summary>
public sealed class GenerateTinyModel : IDisposable
{
    public static string Checkpoint => GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors");
    public static string Tokenizer => GoldensFolder.File("tokenizer");
    public static string LoraFile => GoldensFolder.File("tiny_a", "goldens", "lora", "lora.safetensors");
    public static string LoHaFile => GoldensFolder.File("tiny_a", "goldens", "lora", "loha.safetensors");

    public Sd1Model Model { get; } = Sd1Model.Load(Checkpoint, tokenizerDir: Tokenizer);

    /// <summary>Copies of every text-encoder and UNet parameter, by name.</summary>
    public Dictionary<string, Tensor> SnapshotWeights()
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, p) in Model.TextEncoder.named_parameters()) result["te." + name] = p.detach().clone();
        foreach (var (name, p) in Model.Unet.named_parameters()) result["unet." + name] = p.detach().clone();
        return result;
    }

    /// <summary>Names of parameters that are not bit-identical to <paramref name="snapshot"/>.</summary>
    public List<string> ChangedWeights(Dictionary<string, Tensor> snapshot)
    {
        var now = SnapshotWeights();
        var changed = snapshot.Where(kv => Differs(now[kv.Key], kv.Value)).Select(kv => kv.Key).ToList();
        foreach (var t in now.Values) t.Dispose();
        return changed;
    }

    static bool Differs(Tensor a, Tensor b)
    {
        using var ne = a.ne(b).any();
        return ne.item<bool>();
    }

    public static byte[] Pixels(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    /// <summary>Mean |a − b| over all channels, in 0..255 units.</summary>
    public static double MeanAbsDiff(Image<Rgb24> a, Image<Rgb24> b) =>
        Pixels(a).Zip(Pixels(b), (x, y) => Math.Abs(x - y)).Average();

    public void Dispose() => Model.Dispose();
}
