using System.Text.Json;
using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>One tensor's entry in a safetensors header: dtype name, shape and byte range inside the data section.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long NumElements => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
}

/// <summary>
/// A safetensors file (u64-LE header length, JSON header, raw little-endian data). <see cref="Open"/> reads the
/// header only; <see cref="Load(string, ScalarType?)"/> reads a tensor's bytes straight into a fresh tensor's
/// storage, so loading never holds a second copy of the file. Writing lives in <see cref="SafetensorsWriter"/>.
/// </summary>
public sealed class SafetensorsFile
{
    /// <summary>Header lengths past this are corrupt files, not checkpoints (the format's own limit is 100 MB).</summary>
    const long MaxHeaderBytes = 100_000_000;

    public string Path { get; }
    /// <summary>The `__metadata__` string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Entries in data order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }
    /// <summary>File offset where the data section starts (8 + header length).</summary>
    public long DataStart { get; }

    readonly Dictionary<string, SafetensorsEntry> _byName;

    SafetensorsFile(string path, Dictionary<string, string> metadata, List<SafetensorsEntry> entries, long dataStart)
    {
        Path = path;
        Metadata = metadata;
        Entries = entries;
        DataStart = dataStart;
        _byName = entries.ToDictionary(e => e.Name);
    }

    public IEnumerable<string> Keys => Entries.Select(e => e.Name);
    public bool Contains(string name) => _byName.ContainsKey(name);
    public SafetensorsEntry this[string name] => _byName.TryGetValue(name, out var e) ? e
        : throw new UserError($"{Path}: has no tensor '{name}'.");

    /// <summary>True when the file starts like a safetensors file (a plausible header length followed by '{').</summary>
    public static bool LooksLikeSafetensors(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        if (fs.Read(head) < 9) return false;
        var n = BitConverter.ToUInt64(head[..8]);
        return n > 0 && (long)n <= Math.Min(MaxHeaderBytes, fs.Length - 8) && head[8] == (byte)'{';
    }

    /// <summary>Reads and validates the header; no tensor data is read.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: file not found.");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        var fileLength = fs.Length;
        Span<byte> lenBytes = stackalloc byte[8];
        if (fs.Read(lenBytes) < 8) throw Corrupt(path, "it is shorter than 8 bytes");
        var headerLength = (long)BitConverter.ToUInt64(lenBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
            throw Corrupt(path, $"the header length field says {headerLength} bytes but the file has {fileLength}");
        var header = new byte[headerLength];
        fs.ReadExactly(header);

        var metadata = new Dictionary<string, string>();
        var entries = new List<SafetensorsEntry>();
        long dataLength = fileLength - 8 - headerLength;
        try
        {
            using var doc = JsonDocument.Parse(header);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                var v = prop.Value;
                var dtype = v.GetProperty("dtype").GetString()!;
                var shape = v.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                var offs = v.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLength)
                    throw Corrupt(path, $"tensor '{prop.Name}' has data_offsets [{string.Join(", ", offs)}] outside the {dataLength}-byte data section");
                var e = new SafetensorsEntry(prop.Name, dtype, shape, offs[0], offs[1]);
                var size = SafetensorsDType.SizeOf(dtype);
                if (size > 0 && e.NumElements * size != e.ByteLength)
                    throw Corrupt(path, $"tensor '{prop.Name}' ({dtype} [{string.Join(", ", shape)}]) needs {e.NumElements * size} bytes but its data_offsets span {e.ByteLength}");
                entries.Add(e);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw Corrupt(path, $"its JSON header is malformed ({ex.Message})");
        }
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        // As the reference reader does: the tensors tile the data section, each starting where the previous ends.
        // Overlapping ranges would alias two tensors to the same bytes; gaps hide data no tensor owns.
        long expected = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.Begin < expected)
                throw Corrupt(path, $"tensor '{e.Name}' (data_offsets [{e.Begin}, {e.End}]) overlaps tensor '{entries[i - 1].Name}' (ending at {expected})");
            if (e.Begin > expected)
                throw Corrupt(path, $"tensor '{e.Name}' starts at {e.Begin}, leaving bytes {expected}–{e.Begin} that no tensor owns");
            expected = e.End;
        }
        if (expected != dataLength)
            throw Corrupt(path, $"the tensors cover {expected} bytes of the {dataLength}-byte data section");
        return new SafetensorsFile(path, metadata, entries, 8 + headerLength);
    }

    static UserError Corrupt(string path, string what) =>
        new($"{path}: not a valid safetensors file: {what}. The download may be incomplete; fetch it again.");

    /// <summary>Loads one tensor, optionally converted to <paramref name="dtype"/>.</summary>
    public Tensor Load(string name, ScalarType? dtype = null)
    {
        using var fs = OpenData();
        return Read(fs, this[name], dtype);
    }

    /// <summary>Loads the named tensors (all when <paramref name="names"/> is null) in file order, each converted to
    /// <paramref name="dtype"/> when given. Only one tensor's native-dtype copy exists at a time.</summary>
    public Dictionary<string, Tensor> Load(IEnumerable<string>? names = null, ScalarType? dtype = null)
    {
        var wanted = names is null ? null : new HashSet<string>(names);
        if (wanted is not null)
            foreach (var n in wanted)
                if (!_byName.ContainsKey(n)) throw new UserError($"{Path}: has no tensor '{n}'.");
        var result = new Dictionary<string, Tensor>();
        using var fs = OpenData();
        foreach (var e in Entries)
            if (wanted is null || wanted.Contains(e.Name))
                result[e.Name] = Read(fs, e, dtype);
        return result;
    }

    FileStream OpenData() => new(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);

    Tensor Read(FileStream fs, SafetensorsEntry e, ScalarType? dtype)
    {
        var type = SafetensorsDType.ToScalarType(e.DType, Path, e.Name);
        var t = empty(e.Shape, type);
        try
        {
            fs.Seek(DataStart + e.Begin, SeekOrigin.Begin);
            TensorBytes.ReadInto(fs, t);
        }
        catch (EndOfStreamException)
        {
            t.Dispose();
            throw Corrupt(Path, $"it ends inside tensor '{e.Name}'");
        }
        if (dtype is { } d && d != type)
        {
            var converted = t.to_type(d);
            t.Dispose();
            return converted;
        }
        return t;
    }

    /// <summary>The header as the reference writes it, for display: dtype, shape per key.</summary>
    public override string ToString() => $"{Path}: {Entries.Count} tensors, {Metadata.Count} metadata keys";
}
