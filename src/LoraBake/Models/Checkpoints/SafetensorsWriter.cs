using System.Text.Encodings.Web;
using System.Text.Json;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// Writes safetensors files the way the reference `safetensors.save_file` does: tensors ordered by dtype size
/// (largest first, so every tensor stays aligned) then by name, `__metadata__` first in the header, the header
/// padded with spaces to a multiple of 8 bytes. Files are written to a temporary name and renamed into place.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Atomically writes <paramref name="tensors"/> and string <paramref name="metadata"/> to <paramref name="path"/>.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(fs, tensors, metadata);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes the whole file to <paramref name="output"/> (e.g. a MemoryStream for hashing).</summary>
    public static void Write(Stream output, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var order = tensors
            .Select(kv => (kv.Key, Tensor: kv.Value, DType: SafetensorsDType.FromScalarType(kv.Value.dtype)))
            .OrderByDescending(x => x.Tensor.ElementSize)
            .ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToList();

        var header = BuildHeader(order.Select(x => (x.Key, x.DType, x.Tensor.shape, x.Tensor.numel() * x.Tensor.ElementSize)), metadata);
        Span<byte> len = stackalloc byte[8];
        BitConverter.TryWriteBytes(len, (ulong)header.Length);
        output.Write(len);
        output.Write(header);
        foreach (var x in order) TensorBytes.WriteFrom(output, x.Tensor);
    }

    static byte[] BuildHeader(IEnumerable<(string Key, string DType, long[] Shape, long Bytes)> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        // Compact JSON with UTF-8 text as is, as serde_json writes it.
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var e in entries)
            {
                w.WriteStartObject(e.Key);
                w.WriteString("dtype", e.DType);
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + e.Bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += e.Bytes;
            }
            w.WriteEndObject();
        }
        var json = ms.ToArray();
        var padded = (json.Length + 7) / 8 * 8;
        var header = new byte[padded];
        json.CopyTo(header, 0);
        header.AsSpan(json.Length).Fill((byte)' ');
        return header;
    }
}
