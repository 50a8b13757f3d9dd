namespace LoraBake.Pipeline;

/// <summary>
/// The content-addressed store in .lorabake/ (shared by all projects of a repository):
/// <code>
/// objects/ab/abcdef…      blobs by SHA-256 (models, anything big and shareable)
/// entries/KIND/KEY/       a stage's committed output; KEY is a fingerprint hash; manifest.json inside
/// tmp/PID-GUID/           entries and files being written (never read as results)
/// partial/                resumable downloads
/// locks/                  one lock file per project being built
/// </code>
/// Everything is written to tmp/ and renamed into place, so a reader sees a whole entry or none.
/// A damaged entry is reported as missing (stale), never as an error.
/// </summary>
public sealed class ArtifactStore
{
    public string Root { get; }
    public string ObjectsDir => Path.Combine(Root, "objects");
    public string EntriesDir => Path.Combine(Root, "entries");
    public string TempDir => Path.Combine(Root, "tmp");
    public string PartialDir => Path.Combine(Root, "partial");
    public string LocksDir => Path.Combine(Root, "locks");

    public ArtifactStore(string root) => Root = Path.GetFullPath(root);

    public string BlobPath(string sha256)
    {
        if (!Hashing.IsSha256(sha256)) throw new ArgumentException($"not a SHA-256: '{sha256}'", nameof(sha256));
        var s = sha256.ToLowerInvariant();
        return Path.Combine(ObjectsDir, s[..2], s);
    }

    public bool HasBlob(string sha256) => Hashing.IsSha256(sha256) && File.Exists(BlobPath(sha256));

    /// <summary>Adds a file to the store by content and returns its SHA-256. With <paramref name="move"/> the file is moved (cheap on one file system).</summary>
    public string PutFile(string path, bool move = false)
    {
        var sha = Hashing.Sha256File(path);
        PutFile(path, sha, move);
        return sha;
    }

    /// <summary>Adds a file whose SHA-256 the caller has just computed (a download hashes while it streams).</summary>
    public void PutFile(string path, string sha256, bool move)
    {
        var target = BlobPath(sha256);
        if (File.Exists(target) && new FileInfo(target).Length == new FileInfo(path).Length)
        {
            if (move) File.Delete(path);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = NewTempPath();
        if (move) File.Move(path, temp); else File.Copy(path, temp);
        File.Move(temp, target, overwrite: true);
    }

    /// <summary>Path of a committed entry that still verifies (sizes, manifest hash, referenced blobs; with <paramref name="fullCheck"/> also every file's SHA-256), or null.</summary>
    public string? TryOpenEntry(string kind, string key, bool fullCheck = false)
    {
        var dir = EntryPath(kind, key);
        if (!File.Exists(Path.Combine(dir, EntryManifest.FileName))) return null;
        return TryReadManifest(kind, key, fullCheck) != null ? dir : null;
    }

    /// <summary>The verified manifest of an entry, or null when it is missing or damaged.</summary>
    public EntryManifest? TryReadManifest(string kind, string key, bool fullCheck = false)
    {
        var dir = EntryPath(kind, key);
        var manifest = EntryManifest.TryRead(Path.Combine(dir, EntryManifest.FileName));
        if (manifest == null) return null;
        foreach (var (rel, f) in manifest.Files)
        {
            var path = Path.Combine(dir, rel);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != f.Size) return null;
            if (fullCheck && Hashing.Sha256File(path) != f.Sha256) return null;
        }
        foreach (var (sha, size) in manifest.Blobs)
        {
            var info = new FileInfo(BlobPath(sha));
            if (!info.Exists || info.Length != size) return null;
            if (fullCheck && Hashing.Sha256File(info.FullName) != sha) return null;
        }
        return manifest;
    }

    public bool EntryExists(string kind, string key) => Directory.Exists(EntryPath(kind, key));

    public EntryWriter BeginEntry(string kind, string key) => new(this, kind, key, NewTempPath());

    public string EntryPath(string kind, string key)
    {
        CheckName(kind, nameof(kind));
        CheckName(key, nameof(key));
        return Path.Combine(EntriesDir, kind, key);
    }

    /// <summary>Deletes an entry (moved aside first so a half-deleted entry is never visible).</summary>
    public void DeleteEntry(string kind, string key)
    {
        var dir = EntryPath(kind, key);
        if (!Directory.Exists(dir)) return;
        var trash = NewTempPath();
        Directory.CreateDirectory(TempDir);
        Directory.Move(dir, trash);
        TryDeleteDirectory(trash);
    }

    public void DeleteBlob(string sha256)
    {
        var path = BlobPath(sha256);
        if (File.Exists(path)) File.Delete(path);
    }

    /// <summary>A fresh path under tmp/ named after this process, so <see cref="SweepTemp"/> can tell abandoned ones.</summary>
    public string NewTempPath()
    {
        Directory.CreateDirectory(TempDir);
        return Path.Combine(TempDir, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    /// <summary>Removes temp files and folders left by processes that are no longer running.</summary>
    public void SweepTemp()
    {
        if (!Directory.Exists(TempDir)) return;
        foreach (var path in Directory.EnumerateFileSystemEntries(TempDir))
        {
            var name = Path.GetFileName(path);
            var dash = name.IndexOf('-');
            if (dash <= 0 || !int.TryParse(name[..dash], out var pid) || pid == Environment.ProcessId || IsRunning(pid)) continue;
            if (Directory.Exists(path)) TryDeleteDirectory(path);
            else try { File.Delete(path); } catch (IOException) { }
        }
    }

    internal void Publish(string tempDir, string kind, string key)
    {
        var target = EntryPath(kind, key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        if (Directory.Exists(target))
        {
            // A damaged (or concurrently written) entry with the same key: replace it; both have the same inputs.
            var trash = NewTempPath();
            try { Directory.Move(target, trash); } catch (DirectoryNotFoundException) { }
            TryDeleteDirectory(trash);
        }
        Directory.Move(tempDir, target);
    }

    internal static void TryDeleteDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void CheckName(string name, string param)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('/') || name.Contains('\\') || name is "." or ".." || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"invalid store name '{name}'", param);
    }
}
