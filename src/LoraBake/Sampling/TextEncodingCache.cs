using System.Globalization;
using System.Text;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// The (cond, uncond) contexts of renders already made by one <see cref="Sd1Generator"/>, so a grid encodes each
/// prompt pair once per text-encoder state rather than once per render (the baseline column, a CFG or sampler axis,
/// and weight-0 cells all share one encoding). The key is everything the encoding depends on: prompt, negative
/// prompt, clip skip, how LoRAs are applied and each LoRA file (full path, size, write time) with its
/// text-encoder strength. Bounded: a grid renders one (file, weight) group at a time, so old entries are dropped.
/// </summary>
internal sealed class TextEncodingCache : IDisposable
{
    /// <summary>Entries kept; at 77 tokens an entry is ~0.5 MB, and a grid reuses few beyond its current LoRA group.</summary>
    public const int Capacity = 64;

    readonly Dictionary<string, (Tensor Cond, Tensor Uncond)> _entries = new(StringComparer.Ordinal);
    readonly Queue<string> _order = new();

    /// <summary>How many encodings were computed (not served from the cache).</summary>
    public int Misses { get; private set; }

    public static string Key(string prompt, string negative, int clipSkip, LoraApplyMode mode, IReadOnlyList<LoraReference> loras)
    {
        var sb = new StringBuilder();
        sb.Append(prompt.Length).Append(':').Append(prompt).Append('\n')
          .Append(negative.Length).Append(':').Append(negative).Append('\n')
          .Append(clipSkip.ToString(CultureInfo.InvariantCulture)).Append('\n').Append(mode).Append('\n');
        foreach (var l in loras)
        {
            if (l.TextEncoderWeight == 0) continue;   // a file at text-encoder strength 0 leaves the encoder as it is
            var file = new FileInfo(Path.GetFullPath(l.Path));
            sb.Append(file.FullName).Append('|').Append(file.Length.ToString(CultureInfo.InvariantCulture)).Append('|')
              .Append(file.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)).Append('|')
              .Append(l.TextEncoderWeight.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The cached contexts for <paramref name="key"/>, or <paramref name="encode"/>'s, kept for the next render.
    /// The returned tensors belong to the cache: clone or use them within the render.</summary>
    public (Tensor Cond, Tensor Uncond) GetOrEncode(string key, Func<(Tensor Cond, Tensor Uncond)> encode)
    {
        if (_entries.TryGetValue(key, out var hit)) return hit;
        Misses++;
        var (cond, uncond) = encode();
        var entry = (cond.DetachFromDisposeScope(), uncond.DetachFromDisposeScope());
        if (_entries.Count >= Capacity)
        {
            var oldest = _order.Dequeue();
            var (c, u) = _entries[oldest];
            c.Dispose();
            u.Dispose();
            _entries.Remove(oldest);
        }
        _entries[key] = entry;
        _order.Enqueue(key);
        return entry;
    }

    public void Dispose()
    {
        foreach (var (c, u) in _entries.Values)
        {
            c.Dispose();
            u.Dispose();
        }
        _entries.Clear();
        _order.Clear();
    }
}
