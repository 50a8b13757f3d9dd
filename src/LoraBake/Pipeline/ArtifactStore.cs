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
/// Every read checks the entry's files and blobs against the SHA-256 their manifest recorded (through
/// <see cref="VerifiedHashes"/>, so an unchanged file is not re-read): a damaged entry is reported as missing
/// (stale), never as an error, and never handed out.
/// </summary>
public sealed class ArtifactStore
{
    public string Root { get; }
    public string ObjectsDir => Path.Combine(Root, "objects");
    public string EntriesDir => Path.Combine(Root, "entries");
    public string TempDir => Path.Combine(Root, "tmp");
    public string PartialDir => Path.Combine(Root, "partial");
    public string LocksDir => Path.Combine(Root, "locks");

    /// <summary>Hashes of store files already checked, by stat (hash-cache/verified.json).</summary>
    public VerifiedHashes Verified => _verified.Value;
    private readonly Lazy<VerifiedHashes> _verified;

    /// <summary>Told, in one line, when an entry a stage asked for was damaged and is being rebuilt (the CLI prints it).</summary>
    public Action<string> Notice { get; set; } = _ => { };

    public ArtifactStore(string root)
    {
        Root = Path.GetFullPath(root);
        _verified = new Lazy<VerifiedHashes>(() => new VerifiedHashes(Root));
    }

    public string BlobPath(string sha256)
    {
        if (!Hashing.IsSha256(sha256)) throw new ArgumentException($"not a SHA-256: '{sha256}'", nameof(sha256));
        var s = sha256.ToLowerInvariant();
        return Path.Combine(ObjectsDir, s[..2], s);
    }

    public bool HasBlob(string sha256) => Hashing.IsSha256(sha256) && File.Exists(BlobPath(sha256));

    /// <summary>True when the blob is there and its content still hashes to its name.</summary>
    public bool HasIntactBlob(string sha256)
    {
        if (!HasBlob(sha256)) return false;
        var path = BlobPath(sha256);
        return Verified.Matches(path, new FileInfo(path).Length, sha256.ToLowerInvariant());
    }

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
        sha256 = sha256.ToLowerInvariant();
        var target = BlobPath(sha256);
        // Same name is not same bytes: a damaged blob (same size, flipped byte) is replaced, not kept.
        if (File.Exists(target) && Verified.Matches(target, new FileInfo(path).Length, sha256))
        {
            if (move) File.Delete(path);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = NewTempPath();
        if (move) File.Move(path, temp); else File.Copy(path, temp);
        File.Move(temp, target, overwrite: true);
        Verified.Record(target, sha256);
    }

    /// <summary>
    /// Path of a committed entry whose files and blobs all still hash to what its manifest recorded, or null.
    /// An entry that is there but damaged is reported through <see cref="Notice"/>: the caller rebuilds it.
    /// </summary>
    public string? TryOpenEntry(string kind, string key, bool rehash = false)
    {
        var check = CheckEntry(kind, key, rehash);
        if (check.Manifest != null) return EntryPath(kind, key);
        if (check.Problem != null) Notice($"store: {kind}/{key[..Math.Min(12, key.Length)]} is damaged ({check.Problem}); rebuilding it");
        return null;
    }

    /// <summary>The verified manifest of an entry, or null when it is missing or damaged.</summary>
    public EntryManifest? TryReadManifest(string kind, string key, bool rehash = false) => CheckEntry(kind, key, rehash).Manifest;

    /// <summary>
    /// Checks an entry: its manifest's own hash, then each file's and each referenced blob's size and SHA-256
    /// (re-read only when its stat changed, or always with <paramref name="rehash"/>). Problem is null when the
    /// entry is absent, and says what is wrong when it is there but damaged.
    /// </summary>
    /// <param name="blobsJustChecked">The caller has just verified every blob (store verify): trust them by stat even with <paramref name="rehash"/>.</param>
    public EntryCheck CheckEntry(string kind, string key, bool rehash = false, bool blobsJustChecked = false)
    {
        var dir = EntryPath(kind, key);
        if (!Directory.Exists(dir)) return new EntryCheck(null, null);
        var manifest = EntryManifest.TryRead(Path.Combine(dir, EntryManifest.FileName));
        if (manifest == null) return new EntryCheck(null, $"{EntryManifest.FileName} is missing, unreadable or does not match its own hash");
        foreach (var (rel, f) in manifest.Files)
        {
            if (rel.Split('/').Any(part => part is "" or "." or ".."))
                return new EntryCheck(null, $"{EntryManifest.FileName} lists a path outside the entry ({rel})");
            var problem = FileProblem(Path.Combine(dir, rel), f.Size, f.Sha256, rehash);
            if (problem != null) return new EntryCheck(null, $"{rel} {problem}");
        }
        foreach (var (sha, size) in manifest.Blobs)
        {
            if (!Hashing.IsSha256(sha)) return new EntryCheck(null, $"{EntryManifest.FileName} names an invalid blob '{sha}'");
            var problem = FileProblem(BlobPath(sha), size, sha, rehash && !blobsJustChecked);
            if (problem != null) return new EntryCheck(null, $"blob objects/{sha[..2]}/{sha} {problem}");
        }
        return new EntryCheck(manifest, null);
    }

    private string? FileProblem(string path, long size, string sha256, bool rehash)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return "is missing";
        if (info.Length != size) return $"has {info.Length} bytes, {size} recorded";
        return Verified.Matches(path, size, sha256, rehash) ? null : "does not match its recorded SHA-256";
    }

    public bool EntryExists(string kind, string key) => Directory.Exists(EntryPath(kind, key));

    public EntryWriter BeginEntry(string kind, string key, bool replaceExisting = false) =>
        new(this, kind, key, NewTempPath()) { ReplaceExisting = replaceExisting };

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

    /// <summary>
    /// Renames <paramref name="tempDir"/> into place as entry kind/key. An intact entry already there wins: another
    /// build with the same inputs (the key is their fingerprint) committed it first, perhaps a second ago from another
    /// project or process, and readers may be using it, so it is never moved away; ours is discarded and the winner's
    /// manifest returned. A damaged one is replaced, and so is an intact one when <paramref name="replaceIntact"/> (a
    /// forced rebuild, which must leave its own result). Returns null when ours was published.
    /// </summary>
    internal EntryManifest? Publish(string tempDir, string kind, string key, bool replaceIntact)
    {
        var target = EntryPath(kind, key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        for (int attempt = 0; ; attempt++)
        {
            if (Directory.Exists(target))
            {
                var winner = replaceIntact && attempt == 0 ? null : CheckEntry(kind, key).Manifest;
                if (winner != null)
                {
                    TryDeleteDirectory(tempDir);
                    return winner;
                }
                var trash = NewTempPath();
                try { Directory.Move(target, trash); } catch (DirectoryNotFoundException) { }
                TryDeleteDirectory(trash);
            }
            try
            {
                Directory.Move(tempDir, target);
                return null;
            }
            // Another commit of the same key landed between the check and the rename: look at it again.
            catch (IOException) when (attempt < 3 && Directory.Exists(target)) { }
        }
    }

    internal static void TryDeleteDirectory(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    internal static bool IsRunning(int pid)
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
