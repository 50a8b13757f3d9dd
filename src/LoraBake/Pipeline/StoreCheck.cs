using System.Diagnostics;

namespace LoraBake.Pipeline;

/// <summary>What <see cref="StoreCheck.Run"/> found: counts, each damaged entry or blob with what is wrong, and the hashing work done.</summary>
public sealed record StoreCheckReport(
    int Entries, int Blobs, IReadOnlyList<string> Damaged, int FilesHashed, long BytesHashed, TimeSpan Elapsed)
{
    public bool Ok => Damaged.Count == 0;
}

/// <summary>
/// `lorabake store verify`, the store's fsck: every blob must hash to its name and every entry must verify
/// (manifest self-hash, each file's size and SHA-256, each referenced blob). Hashes already verified for an
/// unchanged file (same size, mtime, ctime, inode) are trusted unless <c>rehash</c> is asked for. Nothing is
/// changed: a build rebuilds a damaged entry by itself, and `store gc` removes what no lock needs.
/// </summary>
public static class StoreCheck
{
    public static StoreCheckReport Run(ArtifactStore store, bool rehash = false, Action<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        var hashedBefore = (store.Verified.FilesHashed, store.Verified.BytesHashed);
        var damaged = new List<string>();
        var blobs = 0;
        foreach (var path in Files(store.ObjectsDir))
        {
            var name = Path.GetFileName(path);
            var rel = Path.GetRelativePath(store.Root, path).Replace('\\', '/');
            blobs++;
            if (!Hashing.IsSha256(name) || Path.GetFileName(Path.GetDirectoryName(path)) != name[..2])
            {
                damaged.Add($"{rel}: not a blob name (objects/ab/SHA-256); a stray file");
                continue;
            }
            if (!store.Verified.Matches(path, new FileInfo(path).Length, name.ToLowerInvariant(), rehash))
                damaged.Add($"{rel}: content does not hash to its name");
            if (blobs % 500 == 0) progress?.Invoke($"{blobs} blobs checked");
        }
        var entries = 0;
        if (Directory.Exists(store.EntriesDir))
            foreach (var kindDir in Directory.EnumerateDirectories(store.EntriesDir).Order(StringComparer.Ordinal))
                foreach (var entryDir in Directory.EnumerateDirectories(kindDir).Order(StringComparer.Ordinal))
                {
                    entries++;
                    var (kind, key) = (Path.GetFileName(kindDir), Path.GetFileName(entryDir));
                    // Blobs were just checked above: a second look at them costs one stat each.
                    var check = store.CheckEntry(kind, key, rehash, blobsJustChecked: true);
                    if (check.Problem != null) damaged.Add($"entries/{kind}/{key}: {check.Problem}");
                    if (entries % 500 == 0) progress?.Invoke($"{entries} entries checked");
                }
        store.Verified.Save();
        return new StoreCheckReport(entries, blobs, damaged, store.Verified.FilesHashed - hashedBefore.FilesHashed,
            store.Verified.BytesHashed - hashedBefore.BytesHashed, watch.Elapsed);
    }

    static IEnumerable<string> Files(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : [];
}
