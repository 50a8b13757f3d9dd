using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>What <see cref="ProjectCleaner.Clean"/> removed and what it kept because another project uses it.</summary>
public sealed record CleanReport(bool OutputRemoved, IReadOnlyList<string> EntriesRemoved, IReadOnlyList<string> BlobsRemoved, IReadOnlyList<string> Kept);

/// <summary>
/// `lorabake clean`: removes output/NAME and the store entries and blobs that the project's lock file records,
/// except those another project's lock file also records. Never touches the recipe, the dataset or the lock
/// file itself (it stays as the record of the last build; the next plan reports "no cached output").
/// </summary>
public static class ProjectCleaner
{
    public static CleanReport Clean(RepoLayout layout, string project)
    {
        var store = new ArtifactStore(layout.StoreDir);
        using var buildLock = BuildLock.Acquire(store, project);
        var mine = LockFile.Read(layout.LockPath(project));
        var otherEntries = new HashSet<string>(StringComparer.Ordinal);
        var otherBlobs = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(layout.ProjectsDir))
        {
            foreach (var dir in Directory.EnumerateDirectories(layout.ProjectsDir))
            {
                if (Path.GetFileName(dir) == project) continue;
                foreach (var s in LockFile.Read(Path.Combine(dir, "lorabake.lock")).Stages)
                {
                    otherEntries.Add(PlannedStage.StageKind(s.Name) + "/" + s.Fingerprint);
                    otherBlobs.UnionWith(s.Blobs.Keys);
                }
            }
        }
        var entries = new List<string>();
        var blobs = new List<string>();
        var kept = new List<string>();
        foreach (var s in mine.Stages)
        {
            var id = PlannedStage.StageKind(s.Name) + "/" + s.Fingerprint;
            if (otherEntries.Contains(id)) kept.Add($"entry {id}");
            else if (store.EntryExists(PlannedStage.StageKind(s.Name), s.Fingerprint))
            {
                store.DeleteEntry(PlannedStage.StageKind(s.Name), s.Fingerprint);
                entries.Add(id);
            }
            foreach (var blob in s.Blobs.Keys)
            {
                if (otherBlobs.Contains(blob)) kept.Add($"blob {blob}");
                else if (store.HasBlob(blob)) { store.DeleteBlob(blob); blobs.Add(blob); }
            }
        }
        var output = layout.OutputDir(project);
        var outputRemoved = Directory.Exists(output);
        if (outputRemoved)
        {
            // Renamed first so an interrupted clean never leaves a half-deleted output folder under its own name.
            var trash = Path.Combine(layout.OutputRoot, $".{project}.deleting-{Guid.NewGuid():N}");
            Directory.Move(output, trash);
            Directory.Delete(trash, recursive: true);
        }
        return new CleanReport(outputRemoved, entries, blobs.Distinct().ToList(), kept.Distinct().ToList());
    }
}
