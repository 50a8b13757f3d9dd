using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>What <see cref="StageRunner.Run"/> did.</summary>
public sealed record StageRunOutcome(string Stage, bool Ran, string Reason, string Fingerprint, IReadOnlyList<string> Materialized);

/// <summary>
/// Runs one stage of a project: takes the project's build lock, plans (so the fingerprint is computed from the
/// inputs before any work), runs the stage into a store entry unless a verified entry exists, commits it, copies
/// its publish/ files to output/NAME/ and records the stage in projects/NAME/lorabake.lock.
/// </summary>
public sealed class StageRunner(RepoLayout layout, StageCatalog catalog)
{
    public ArtifactStore Store { get; } = new(layout.StoreDir);
    /// <summary>How long to wait for another build of the same project (null: fail at once; see <see cref="BuildLock.Acquire"/>).</summary>
    public TimeSpan? LockWait { get; init; }

    public StageRunOutcome Run(string project, Recipe recipe, string stageName, bool force, Action<string>? log = null)
    {
        log ??= _ => { };
        using var buildLock = BuildLock.Acquire(Store, project, LockWait, log);
        // Stages look entries up from several threads (Process); one line at a time to the log.
        var gate = new object();
        Store.Notice = line => { lock (gate) log(line); };
        try { return RunLocked(project, recipe, stageName, force, log); }
        finally { Store.Verified.Save(); }
    }

    private StageRunOutcome RunLocked(string project, Recipe recipe, string stageName, bool force, Action<string> log)
    {
        Store.SweepTemp();
        var plan = new Planner(layout, Store, catalog).Build(project, recipe, force ? [stageName] : []);
        var stage = plan.Find(stageName) ?? throw new UserError(
            $"project {project} has no stage '{stageName}'; its stages are {string.Join(", ", plan.Stages.Select(s => s.Name))}.");
        var notBuilt = stage.DependsOn.Select(d => plan.Find(d)!).FirstOrDefault(d => d.Result is not { IsBuilt: true });
        if (notBuilt != null)
            throw new UserError(
                $"stage {stage.Name} needs {notBuilt.Name}, which is not built ({notBuilt.Reason}); " +
                $"run ./build.sh --target={stage.Name} --project={project} to build it first.");

        var fp = stage.Fingerprint!;
        var ran = false;
        if (!force && stage.Result!.IsBuilt)
            log($"{stage.Name}: {stage.Reason}");
        else
        {
            log($"{stage.Name}: running ({stage.Reason})");
            var context = new StageContext
            {
                Layout = layout, Recipe = recipe, Project = project, Store = Store, Log = log,
                Upstream = stage.DependsOn.ToDictionary(d => d, d => plan.Find(d)!.Result!, StringComparer.Ordinal),
            };
            using var writer = Store.BeginEntry(stage.Kind, fp.Hash, replaceExisting: force);
            stage.Stage.Run(context, writer);
            writer.Commit();
            ran = true;
        }

        var manifest = Store.TryReadManifest(stage.Kind, fp.Hash)
            ?? throw new InvalidOperationException($"entry {stage.Kind}/{fp.Hash} did not verify right after it was committed");
        var written = Materializer.Materialize(Store.EntryPath(stage.Kind, fp.Hash), manifest, layout.OutputDir(project));
        foreach (var w in written) log($"{stage.Name}: wrote output/{project}/{w}");

        var existing = LockFile.Read(layout.LockPath(project));
        var record = new LockFile.StageRecord(stage.Name, fp.Hash, fp.Components,
            manifest.Files.ToDictionary(f => f.Key, f => f.Value.Sha256, StringComparer.Ordinal), manifest.Blobs);
        if (stage.Stage.ProducesFloatResults)
            record = FloatRecord.Complete(record, Store.EntryPath(stage.Kind, fp.Hash), ran, existing.Find(stage.Name));
        existing
            .With(record, plan.Stages.Select(s => s.Name).ToList())
            .Write(layout.LockPath(project));
        return new StageRunOutcome(stage.Name, ran, stage.Reason, fp.Hash, written);
    }
}
