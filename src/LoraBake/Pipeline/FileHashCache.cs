using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;

namespace LoraBake.Pipeline;

/// <summary>
/// SHA-256 of input files (dataset images, local models), remembered by (path, size, last-write time) so
/// unchanged files are not re-read on every plan. The stat triple is only a hint for skipping a re-hash: it never
/// enters a fingerprint — fingerprints and cache keys are always the content hash. (As with make or git, a file rewritten with the
/// same size and the same mtime would be missed; touching it fixes that.)
/// The cache is one JSON file, written atomically (temp file + rename) by <see cref="Save"/>.
/// </summary>
public sealed class FileHashCache
{
    private sealed record Entry(long Size, long MtimeTicks, string Sha256);

    private readonly string? _path;
    private readonly ConcurrentDictionary<string, Entry> _entries;
    private int _hashed;
    private bool _dirty;

    /// <summary>Files whose content was read and hashed by this instance (cache misses).</summary>
    public int FilesHashed => _hashed;

    /// <summary>A cache kept in <paramref name="path"/> (null: in memory only). A missing or unreadable file starts empty.</summary>
    public FileHashCache(string? path, bool ignoreExisting = false)
    {
        _path = path;
        _entries = new(StringComparer.Ordinal);
        if (path is null || ignoreExisting || !File.Exists(path)) return;
        try
        {
            var loaded = JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(path));
            if (loaded != null) foreach (var (k, v) in loaded) _entries[k] = v;
        }
        catch (JsonException) { }
        catch (IOException) { }
    }

    public string Sha256(string fullPath, long length, DateTime lastWriteUtc)
    {
        if (_entries.TryGetValue(fullPath, out var e) && e.Size == length && e.MtimeTicks == lastWriteUtc.Ticks) return e.Sha256;
        string sha;
        using (var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        Record(fullPath, length, lastWriteUtc, sha);
        Interlocked.Increment(ref _hashed);
        return sha;
    }

    /// <summary>Records a hash computed elsewhere (the processor hashes the bytes it decodes).</summary>
    public void Record(string fullPath, long length, DateTime lastWriteUtc, string sha256)
    {
        _entries[fullPath] = new Entry(length, lastWriteUtc.Ticks, sha256);
        _dirty = true;
    }

    public void Save()
    {
        if (_path is null || !_dirty) return;
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var sorted = new SortedDictionary<string, Entry>(_entries, StringComparer.Ordinal);
        var temp = $"{_path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(sorted));
        File.Move(temp, _path, overwrite: true);
        _dirty = false;
    }
}
