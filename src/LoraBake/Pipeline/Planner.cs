using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>
/// Builds a <see cref="Plan"/>: the catalog's stages for the recipe, fingerprinted in order (each fingerprint
/// includes its upstream fingerprints: a chain), and for each a status. A stage is fresh when its entry is in
/// the store and verifies; otherwise the reason is taken from the lock file: which components changed since
/// the last build, or that the cached output is missing or damaged. Nothing runs and nothing is written.
/// </summary>
public sealed class Planner(RepoLayout layout, ArtifactStore store, StageCatalog catalog)
{
    /// <param name="force">Stage names to treat as stale ("forced"); a slot name (Train) forces all its stages; "all" forces every stage.</param>
    public Plan Build(string project, Recipe recipe, IReadOnlyCollection<string>? force = null)
    {
        force ??= [];
        var forceAll = force.Contains("all", StringComparer.OrdinalIgnoreCase);
        var lockFile = LockFile.Read(layout.LockPath(project));
        var warnings = new List<string>(lockFile.Warnings);
        var planned = new List<PlannedStage>();
        var byName = new Dictionary<string, PlannedStage>(StringComparer.Ordinal);

        foreach (var (slot, stage) in catalog.StagesFor(recipe))
        {
            PlannedStage p;
            var missingDeps = stage.DependsOn.Where(d => !byName.ContainsKey(d)).ToList();
            if (missingDeps.Count > 0)
                throw new InvalidOperationException($"stage {stage.Name} depends on {string.Join(", ", missingDeps)}, which come later or do not exist");
            {
                var upstream = stage.DependsOn.ToDictionary(d => d, d => byName[d].Result!, StringComparer.Ordinal);
                var context = new StageContext { Layout = layout, Recipe = recipe, Project = project, Store = store, Upstream = upstream };
                var fingerprint = stage.ComputeFingerprint(context)
                    .With(stage.DependsOn.Select(d => new KeyValuePair<string, string>("upstream:" + d, byName[d].Fingerprint!.Hash)));
                var forced = forceAll || force.Contains(stage.Name, StringComparer.OrdinalIgnoreCase) || force.Contains(slot, StringComparer.OrdinalIgnoreCase);
                p = Judge(stage, slot, fingerprint, lockFile, forced, project);
            }
            planned.Add(p);
            byName[p.Name] = p;
        }
        foreach (var f in force.Where(f => !f.Equals("all", StringComparison.OrdinalIgnoreCase)
                     && !planned.Any(s => s.Name.Equals(f, StringComparison.OrdinalIgnoreCase) || s.Slot.Equals(f, StringComparison.OrdinalIgnoreCase))))
            warnings.Add($"--force={f}: no stage of that name; stages are {string.Join(", ", planned.Select(s => s.Name))}");
        store.Verified.Save();
        return new Plan(project, recipe, planned, warnings);
    }

    private PlannedStage Judge(IStage stage, string slot, Fingerprint fp, LockFile lockFile, bool forced, string project)
    {
        var kind = PlannedStage.StageKind(stage.Name);
        var check = store.CheckEntry(kind, fp.Hash);
        var manifest = check.Manifest;
        StageResult result = manifest != null
            ? new StageResult(fp, store.EntryPath(kind, fp.Hash), manifest.Files.ToDictionary(f => f.Key, f => f.Value.Sha256, StringComparer.Ordinal))
            : new StageResult(fp, null, new Dictionary<string, string>());
        string reason;
        var status = StageStatus.Stale;
        if (forced) reason = "forced";
        else if (manifest != null)
        {
            var missing = Materializer.MissingOutputs(layout.OutputDir(project), manifest);
            if (missing.Count == 0) { status = StageStatus.Fresh; reason = "up to date"; }
            else reason = $"output {missing[0]}{(missing.Count > 1 ? $" (+{missing.Count - 1} more)" : "")} missing or changed; restored from the cache without rerunning";
        }
        else if (check.Problem != null) reason = $"cached output damaged: {check.Problem}; rebuilding it";
        else if (lockFile.Find(stage.Name) is { } recorded && recorded.Fingerprint != fp.Hash)
        {
            var diff = fp.Diff(recorded.Components);
            reason = diff.Count == 0 ? "fingerprint changed" : string.Join("; ", diff);
        }
        else reason = "no cached output";
        return new PlannedStage(stage.Name, slot, status, reason, fp, stage.DependsOn, stage, result) { Forced = forced };
    }
}
