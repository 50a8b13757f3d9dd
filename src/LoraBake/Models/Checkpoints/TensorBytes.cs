using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>Moves raw little-endian bytes between streams and a CPU tensor's own storage, in chunks under 2 GiB
/// (a Span's limit), so no managed copy of a whole tensor is made.</summary>
static class TensorBytes
{
    const long Chunk = 1L << 30;

    /// <summary>Fills contiguous CPU tensor <paramref name="t"/> from the stream's current position.</summary>
    public static void ReadInto(Stream s, Tensor t)
    {
        foreach (var part in Parts(t))
            using (part)
                s.ReadExactly(part.bytes);
    }

    /// <summary>Writes tensor <paramref name="t"/>'s bytes (made contiguous on the CPU if needed).</summary>
    public static void WriteFrom(Stream s, Tensor t)
    {
        using var c = t.device_type == DeviceType.CPU && t.is_contiguous() ? t.alias() : t.cpu().contiguous();
        foreach (var part in Parts(c))
            using (part)
                s.Write(part.bytes);
    }

    /// <summary>Views of <paramref name="t"/>'s storage, each under <see cref="Chunk"/> bytes.</summary>
    static IEnumerable<Tensor> Parts(Tensor t)
    {
        var numel = t.numel();
        if (numel == 0) yield break;
        var elem = t.ElementSize;
        if (numel * elem <= Chunk) { yield return t.alias(); yield break; }
        using var flat = t.view(-1);
        var per = Chunk / elem;
        for (long start = 0; start < numel; start += per)
            yield return flat.narrow(0, start, Math.Min(per, numel - start));
    }
}
