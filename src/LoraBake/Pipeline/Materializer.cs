using System.Text.Json;

namespace LoraBake.Pipeline;

/// <summary>
/// Copies an entry's <c>publish/</c> files into output/NAME/ (each file atomically) and checks that they are
/// still there. output/NAME/.lorabake-outputs.json remembers size, modification time and SHA-256 of what was
/// copied (with change time, device and inode), so a check re-hashes only files whose stat changed (the
/// timestamps are a hash cache here, never part of a fingerprint). Each copy is hashed before it is renamed
/// into place: output/ never receives bytes other than the ones the lock records.
/// </summary>
public static class Materializer
{
    public const string PublishDir = "publish";
    public const string StateFile = ".lorabake-outputs.json";

    private sealed record Seen(long Size, long MtimeTicks, string Sha256, long CtimeNs = 0, long Device = 0, long Inode = 0);

    /// <summary>The entry's publish files (relative to publish/) with their SHA-256.</summary>
    public static IEnumerable<(string Relative, string Sha256, long Size)> Published(EntryManifest manifest) =>
        manifest.Files.Where(f => f.Key.StartsWith(PublishDir + "/", StringComparison.Ordinal))
            .Select(f => (f.Key[(PublishDir.Length + 1)..], f.Value.Sha256, f.Value.Size));

    /// <summary>Output files of the entry that are absent from, or differ in, <paramref name="outputDir"/>.</summary>
    public static IReadOnlyList<string> MissingOutputs(string outputDir, EntryManifest manifest)
    {
        var state = ReadState(outputDir);
        var missing = new List<string>();
        foreach (var (rel, sha, size) in Published(manifest))
            if (CurrentHash(outputDir, rel, size, state) != sha) missing.Add(Path.Combine(Path.GetFileName(outputDir), rel).Replace('\\', '/'));
        return missing;
    }

    /// <summary>Copies the entry's publish files that differ into <paramref name="outputDir"/>; returns the relative paths written.</summary>
    public static IReadOnlyList<string> Materialize(string entryDir, EntryManifest manifest, string outputDir)
    {
        var state = ReadState(outputDir);
        var written = new List<string>();
        foreach (var (rel, sha, size) in Published(manifest))
        {
            if (CurrentHash(outputDir, rel, size, state) == sha) continue;
            var target = Path.Combine(outputDir, rel);
            var source = Path.Combine(entryDir, PublishDir, rel);
            AtomicFile.Write(target, temp =>
            {
                File.Copy(source, temp, overwrite: true);
                var copied = Hashing.Sha256File(temp);
                if (copied != sha)
                    throw new Runtime.UserError($"copying {source} to {target} gave bytes with SHA-256 {copied}, not the {sha} the store recorded; " +
                        "the entry changed while it was copied or the disk is failing. Nothing was written; run the build again (`lorabake store verify` checks the store).");
            });
            state[rel] = Stamp(target, sha);
            written.Add(rel);
        }
        if (written.Count > 0)
            AtomicFile.WriteAllText(Path.Combine(outputDir, StateFile), JsonSerializer.Serialize(new SortedDictionary<string, Seen>(state, StringComparer.Ordinal)));
        return written;
    }

    private static string? CurrentHash(string outputDir, string rel, long expectedSize, Dictionary<string, Seen> state)
    {
        var info = new FileInfo(Path.Combine(outputDir, rel));
        if (!info.Exists || info.Length != expectedSize) return null;
        if (state.TryGetValue(rel, out var seen) && seen == Stamp(info.FullName, seen.Sha256)) return seen.Sha256;
        return Hashing.Sha256File(info.FullName);
    }

    private static Seen Stamp(string path, string sha)
    {
        var stat = Runtime.FileStat.Stat(path);
        return new Seen(stat.Size, new FileInfo(path).LastWriteTimeUtc.Ticks, sha, stat.CtimeNs, stat.Device, stat.Inode);
    }

    private static Dictionary<string, Seen> ReadState(string outputDir)
    {
        try
        {
            var path = Path.Combine(outputDir, StateFile);
            if (File.Exists(path))
                return JsonSerializer.Deserialize<Dictionary<string, Seen>>(File.ReadAllText(path)) ?? new();
        }
        catch (Exception e) when (e is IOException or JsonException) { }
        return new(StringComparer.Ordinal);
    }
}
