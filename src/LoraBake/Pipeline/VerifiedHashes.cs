using System.Collections.Concurrent;
using System.Text.Json;
using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>
/// The store's memory of files whose SHA-256 was checked: path → (size, mtime, ctime, device, inode, SHA-256), in
/// .lorabake/hash-cache/verified.json. A file is re-read only when one of those changed, so a rerun checks a
/// 2 GB checkpoint with one stat instead of 2 GB of hashing, and any write to it (which moves mtime and ctime;
/// ctime cannot be set back by tools like `touch -d`) makes it hashed again. Only a match is ever trusted:
/// a record that disagrees with the expected hash, or a damaged cache file, just means "hash it".
/// </summary>
public sealed class VerifiedHashes
{
    private sealed record Seen(long Size, long MtimeNs, long CtimeNs, long Device, long Inode, string Sha256);

    private readonly string _root;
    private readonly string _path;
    private readonly ConcurrentDictionary<string, Seen> _seen;
    private readonly ConcurrentDictionary<string, byte> _forgotten = new(StringComparer.Ordinal);
    private int _filesHashed;
    private long _bytesHashed;
    private volatile bool _dirty;

    public VerifiedHashes(string storeRoot)
    {
        _root = storeRoot;
        _path = Path.Combine(storeRoot, "hash-cache", "verified.json");
        _seen = new ConcurrentDictionary<string, Seen>(Load(_path), StringComparer.Ordinal);
    }

    /// <summary>Files read and hashed by this instance (cache misses), and their bytes.</summary>
    public int FilesHashed => _filesHashed;
    public long BytesHashed => Interlocked.Read(ref _bytesHashed);

    /// <summary>
    /// True when <paramref name="path"/> is a regular file of <paramref name="size"/> bytes whose content hashes to
    /// <paramref name="sha256"/>; hashed only when its stat changed since it last verified (always with <paramref name="rehash"/>).
    /// </summary>
    public bool Matches(string path, long size, string sha256, bool rehash = false)
    {
        var stat = FileStat.Stat(path);
        if (stat.Kind != FileKind.Regular || stat.Size != size) return false;
        var key = Key(path);
        if (!rehash && _seen.TryGetValue(key, out var seen) && Same(seen, stat) && seen.Sha256 == sha256) return true;
        var actual = Hashing.Sha256File(path);
        Interlocked.Increment(ref _filesHashed);
        Interlocked.Add(ref _bytesHashed, stat.Size);
        if (actual != sha256)
        {
            if (_seen.TryRemove(key, out _)) _dirty = true;
            return false;
        }
        Remember(key, stat, actual);
        return true;
    }

    /// <summary>Records a hash the caller has just computed for the file now at <paramref name="path"/> (a commit, a store put).</summary>
    public void Record(string path, string sha256)
    {
        var stat = FileStat.Stat(path);
        if (stat.Kind == FileKind.Regular) Remember(Key(path), stat, sha256);
    }

    /// <summary>Drops the records of a removed store path (a blob, or an entry folder and everything in it): store gc.</summary>
    public void Forget(string path)
    {
        var prefix = Key(path);
        _forgotten[prefix] = 0;
        foreach (var key in _seen.Keys.Where(k => Within(k, prefix))) _seen.TryRemove(key, out _);
        _dirty = true;
    }

    private bool IsForgotten(string key) => _forgotten.Keys.Any(prefix => Within(key, prefix));

    private static bool Within(string key, string prefix) =>
        key == prefix || key.StartsWith(prefix + "/", StringComparison.Ordinal);

    /// <summary>Writes the cache (merged with what other processes saved meanwhile) atomically; a failure only costs a rehash later.</summary>
    public void Save()
    {
        if (!_dirty) return;
        try
        {
            var merged = new SortedDictionary<string, Seen>(Load(_path), StringComparer.Ordinal);
            if (!_forgotten.IsEmpty)
                foreach (var key in merged.Keys.Where(IsForgotten).ToList()) merged.Remove(key);
            foreach (var (k, v) in _seen) merged[k] = v;
            AtomicFile.WriteAllText(_path, JsonSerializer.Serialize(merged));
            _dirty = false;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private void Remember(string key, FileStat stat, string sha256)
    {
        _seen[key] = new Seen(stat.Size, stat.MtimeNs, stat.CtimeNs, stat.Device, stat.Inode, sha256);
        _dirty = true;
    }

    private static bool Same(Seen s, FileStat f) =>
        s.Size == f.Size && s.MtimeNs == f.MtimeNs && s.CtimeNs == f.CtimeNs && s.Device == f.Device && s.Inode == f.Inode;

    private string Key(string path) => Path.GetRelativePath(_root, Path.GetFullPath(path)).Replace('\\', '/');

    private static Dictionary<string, Seen> Load(string path)
    {
        try
        {
            if (File.Exists(path))
                return JsonSerializer.Deserialize<Dictionary<string, Seen>>(File.ReadAllText(path)) ?? new();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { }
        return new Dictionary<string, Seen>(StringComparer.Ordinal);
    }
}
