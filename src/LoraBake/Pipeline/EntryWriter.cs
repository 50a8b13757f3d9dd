namespace LoraBake.Pipeline;

/// <summary>
/// A store entry being written. Work goes into <see cref="Directory"/>, a private temp folder under the store;
/// <see cref="Commit"/> hashes every file, writes manifest.json and renames the folder into place in one step.
/// Disposing without Commit deletes the temp folder, so a failed stage leaves nothing that looks finished
/// (a killed process leaves only a temp folder, which <see cref="ArtifactStore.SweepTemp"/> removes later).
/// </summary>
public sealed class EntryWriter : IDisposable
{
    private readonly ArtifactStore _store;
    private readonly SortedDictionary<string, long> _blobs = new(StringComparer.Ordinal);
    private bool _done;

    public string Kind { get; }
    public string Key { get; }
    /// <summary>Where the stage writes its files. Files under <c>publish/</c> are what the user keeps (copied to output/NAME/).</summary>
    public string Directory { get; }

    internal EntryWriter(ArtifactStore store, string kind, string key, string directory)
    {
        _store = store;
        Kind = kind;
        Key = key;
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
    }

    /// <summary>Commit replaces an intact entry with the same key (a forced rebuild) instead of keeping it.</summary>
    public bool ReplaceExisting { get; init; }

    /// <summary>Records that this entry needs a blob of the store (checked on every hit, listed in the lock file).</summary>
    public void ReferenceBlob(string sha256)
    {
        var path = _store.BlobPath(sha256);
        if (!File.Exists(path)) throw new InvalidOperationException($"blob {sha256} is not in the store");
        _blobs[sha256.ToLowerInvariant()] = new FileInfo(path).Length;
    }

    /// <summary>
    /// Seals the entry and moves it into place; returns relative file path → SHA-256 (manifest excluded). When an intact
    /// entry with the same key is already there (a concurrent build with the same inputs), that one is kept and its
    /// files are returned.
    /// </summary>
    public IReadOnlyDictionary<string, string> Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        var files = new SortedDictionary<string, EntryManifest.ManifestFile>(StringComparer.Ordinal);
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(Directory, file).Replace('\\', '/');
            if (rel == EntryManifest.FileName) continue;
            files[rel] = new EntryManifest.ManifestFile(new FileInfo(file).Length, Hashing.Sha256File(file));
        }
        var manifest = new EntryManifest { Files = files, Blobs = new(_blobs, StringComparer.Ordinal) };
        manifest = manifest with { Self = manifest.ComputeSelf() };
        File.WriteAllText(Path.Combine(Directory, EntryManifest.FileName), manifest.ToJson());
        var winner = _store.Publish(Directory, Kind, Key, ReplaceExisting);
        _done = true;
        if (winner != null) return winner.Files.ToDictionary(f => f.Key, f => f.Value.Sha256, StringComparer.Ordinal);
        // Just hashed: remember them at their final place, so the first read does not hash them again.
        var entry = _store.EntryPath(Kind, Key);
        foreach (var (rel, f) in files) _store.Verified.Record(Path.Combine(entry, rel), f.Sha256);
        return files.ToDictionary(f => f.Key, f => f.Value.Sha256, StringComparer.Ordinal);
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        ArtifactStore.TryDeleteDirectory(Directory);
    }
}
