using System.Text.Json;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>Reads golden safetensors (from <see cref="GoldensFolder"/>) with their metadata, and compares tensors.</summary>
internal static class GoldenTensors
{
    /// <summary>All tensors of a golden file (caller disposes) and its <c>__metadata__</c>.</summary>
    public static (Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata) Load(string path)
    {
        var tensors = Safetensors.LoadStateDict(path);
        using var f = File.OpenRead(path);
        var lengthBytes = new byte[8];
        f.ReadExactly(lengthBytes);
        var header = new byte[BitConverter.ToUInt64(lengthBytes)];
        f.ReadExactly(header);
        using var json = JsonDocument.Parse(header);
        var metadata = new Dictionary<string, string>();
        if (json.RootElement.TryGetProperty("__metadata__", out var m))
            foreach (var p in m.EnumerateObject()) metadata[p.Name] = p.Value.GetString() ?? "";
        return (tensors, metadata);
    }

    public static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values) t.Dispose();
    }

    /// <summary>Largest |a − b|, for messages and tolerance checks.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
        return d.item<double>();
    }
}
