using System.Text.Json;
using LoraBake.Data;
using LoraBake.Download;
using LoraBake.Evaluation;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using LoraBake.Training;

namespace LoraBake.Cli;

/// <summary>One entry or blob store gc removes (or would remove), relative to the store, with its size.</summary>
public sealed record GcItem(string Path, long Bytes);

/// <summary>What <see cref="StoreGarbageCollector.Collect"/> removed (or, dry, would remove) and what it kept.</summary>
public sealed record GcReport(IReadOnlyList<GcItem> Removed, int EntriesKept, int BlobsKept, bool DryRun)
{
    public long Bytes => Removed.Sum(r => r.Bytes);
}

/// <summary>
/// `lorabake store gc`: removes every store entry and blob that no project's lorabake.lock still needs. Needed are
/// the entries each lock records and their blobs, plus the caches those entries were built from and that a rerun
/// would read again: the per-image entries of the images a recorded Process stage used (by source hash), the
/// latents of its processed images under a recorded model, and the grid cells a recorded Evaluate stage shows.
/// It holds every project's build lock while it looks, so it never removes what a running build just wrote.
/// </summary>
public static class StoreGarbageCollector
{
    public static GcReport Collect(RepoLayout layout, bool dryRun)
    {
        var store = new ArtifactStore(layout.StoreDir);
        if (!Directory.Exists(store.Root)) return new GcReport([], 0, 0, dryRun);
        var projects = Directory.Exists(layout.ProjectsDir)
            ? Directory.EnumerateDirectories(layout.ProjectsDir).Select(Path.GetFileName).OfType<string>()
                .Where(n => ProjectName.Problem(n) == null).Order(StringComparer.Ordinal).ToList()
            : [];
        var locks = new List<BuildLock>();
        try
        {
            foreach (var p in projects) locks.Add(BuildLock.Acquire(store, p));
            var (entries, blobs) = Needed(layout, store, projects);
            var removed = new List<GcItem>();
            int entriesKept = 0, blobsKept = 0;
            if (Directory.Exists(store.EntriesDir))
                foreach (var kindDir in Directory.EnumerateDirectories(store.EntriesDir).Order(StringComparer.Ordinal))
                    foreach (var entryDir in Directory.EnumerateDirectories(kindDir).Order(StringComparer.Ordinal))
                    {
                        var id = Path.GetFileName(kindDir) + "/" + Path.GetFileName(entryDir);
                        if (entries.Contains(id)) { entriesKept++; continue; }
                        removed.Add(new GcItem("entries/" + id, FolderBytes(entryDir)));
                        if (dryRun) continue;
                        store.DeleteEntry(Path.GetFileName(kindDir), Path.GetFileName(entryDir));
                        store.Verified.Forget(entryDir);
                    }
            if (Directory.Exists(store.ObjectsDir))
                foreach (var path in Directory.EnumerateFiles(store.ObjectsDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    if (blobs.Contains(Path.GetFileName(path))) { blobsKept++; continue; }
                    removed.Add(new GcItem(Path.GetRelativePath(store.Root, path).Replace('\\', '/'), new FileInfo(path).Length));
                    if (dryRun) continue;
                    File.Delete(path);
                    store.Verified.Forget(path);
                }
            if (!dryRun)
            {
                store.SweepTemp();
                store.Verified.Save();
            }
            return new GcReport(removed, entriesKept, blobsKept, dryRun);
        }
        finally
        {
            foreach (var l in locks) l.Dispose();
        }
    }

    /// <summary>Entry ids (KIND/KEY) and blob hashes some lock still needs.</summary>
    static (HashSet<string> Entries, HashSet<string> Blobs) Needed(RepoLayout layout, ArtifactStore store, IReadOnlyList<string> projects)
    {
        var entries = new HashSet<string>(StringComparer.Ordinal);
        foreach (var project in projects)
            foreach (var s in LockFile.Read(layout.LockPath(project)).Stages)
                entries.Add(PlannedStage.StageKind(s.Name) + "/" + s.Fingerprint);

        var sources = new HashSet<string>(StringComparer.Ordinal);
        var pngs = new HashSet<string>(StringComparer.Ordinal);
        var vaeKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in entries.ToList())
        {
            var dir = Path.Combine(store.EntriesDir, id);
            if (!Directory.Exists(dir)) continue;
            var kind = id[..id.IndexOf('/')];
            try
            {
                if (kind == StageCatalog.Process.ToLowerInvariant())
                {
                    var report = JsonSerializer.Deserialize<DatasetReport>(File.ReadAllText(Path.Combine(dir, Materializer.PublishDir, "dataset.json")), DatasetReport.Json);
                    foreach (var i in report?.Images ?? []) if (i.Sha256 != null) sources.Add(i.Sha256);
                    foreach (var i in ProcessedIndex.Read(Path.Combine(dir, ProcessedIndex.FileName)).Images) pngs.Add(i.PngSha256);
                }
                else if (kind == StageCatalog.Download.ToLowerInvariant() && DownloadedModel.Load(dir) is { } model)
                    vaeKeys.Add(LatentCache.VaeKey(model.Sha256, DownloadedModel.Load(dir, "vae")?.Sha256));
                else if (kind == StageCatalog.Evaluate.ToLowerInvariant())
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, Materializer.PublishDir, EvaluateStage.JsonFile)));
                    foreach (var cell in doc.RootElement.GetProperty("cells").EnumerateArray())
                        foreach (var render in cell.GetProperty("renders").EnumerateArray())
                            entries.Add(CellStore.Kind + "/" + render.GetProperty("key").GetString());
                }
            }
            // A damaged entry says nothing about what it used; it is kept (a build rebuilds it), its caches are not.
            catch (Exception e) when (e is IOException or JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException) { }
        }
        foreach (var vaeKey in vaeKeys)
            foreach (var png in pngs)
            {
                entries.Add(LatentCache.Kind + "/" + LatentCache.Key(vaeKey, png, flipped: false));
                entries.Add(LatentCache.Kind + "/" + LatentCache.Key(vaeKey, png, flipped: true));
            }
        var perImage = Path.Combine(store.EntriesDir, StoreProcessedImageCache.Kind);
        if (Directory.Exists(perImage))
            foreach (var dir in Directory.EnumerateDirectories(perImage))
            {
                try
                {
                    var meta = ProcessedImageMeta.FromJson(File.ReadAllText(Path.Combine(dir, "meta.json")));
                    if (meta != null && sources.Contains(meta.SourceSha256)) entries.Add(StoreProcessedImageCache.Kind + "/" + Path.GetFileName(dir));
                }
                catch (Exception e) when (e is IOException or JsonException) { }
            }

        var blobs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var project in projects)
            foreach (var s in LockFile.Read(layout.LockPath(project)).Stages) blobs.UnionWith(s.Blobs.Keys);
        foreach (var id in entries)
            if (EntryManifest.TryRead(Path.Combine(store.EntriesDir, id, EntryManifest.FileName)) is { } m) blobs.UnionWith(m.Blobs.Keys);
        return (entries, blobs);
    }

    static long FolderBytes(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
}
