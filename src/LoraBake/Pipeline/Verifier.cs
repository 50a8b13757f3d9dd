using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>A place where a rebuild disagrees with lorabake.lock. File is "(fingerprint)" or "(stage)" for whole-stage problems.</summary>
public sealed record VerifyDifference(string Stage, string File, string Expected, string Actual);

public sealed record VerifyResult(string Project, IReadOnlyList<string> CheckedStages, IReadOnlyList<VerifyDifference> Differences, ProjectBuildResult Build)
{
    public bool Matches => Differences.Count == 0 && Build.Succeeded;
}

/// <summary>
/// Rebuilds every stage recorded in a project's lorabake.lock from scratch — a fresh store, output folder and
/// lock under <c>workDir</c>, the recipe and dataset read where they are — and compares each stage's fingerprint
/// and output hashes with the lock. The real store, output/NAME/ and the real lock are never written.
/// </summary>
public sealed class Verifier(RepoLayout layout, Func<StageCatalog> catalogFactory)
{
    /// <param name="only">Check only these stages of the lock (and build only what they need); all when null or empty.</param>
    public VerifyResult Verify(string project, string workDir, Action<string>? log = null, IReadOnlyCollection<string>? only = null)
    {
        log ??= _ => { };
        var lockPath = layout.LockPath(project);
        var recorded = LockFile.Read(lockPath);
        if (recorded.Stages.Count == 0)
            throw new UserError($"{lockPath}: no stages recorded{(recorded.Warnings.Count > 0 ? $" ({recorded.Warnings[0]})" : "")}; build the project first (./build.sh --target=Train --project={project}) and commit its lorabake.lock.");
        var expected = recorded;
        if (only is { Count: > 0 })
        {
            var unknown = only.Where(o => recorded.Find(o) == null).ToList();
            if (unknown.Count > 0)
                throw new UserError($"{lockPath} has no stage {string.Join(", ", unknown)}; its stages are {string.Join(", ", recorded.Stages.Select(s => s.Name))}.");
            expected = new LockFile(project, recorded.Stages.Where(s => only.Contains(s.Name)));
        }

        var scratch = layout with
        {
            StoreDir = Path.Combine(workDir, "store"),
            OutputRoot = Path.Combine(workDir, "output"),
            LocksRoot = Path.Combine(workDir, "locks"),
        };
        Directory.CreateDirectory(Path.Combine(scratch.LocksRoot!, project));
        var builder = new ProjectBuilder(scratch, catalogFactory);
        var built = new List<BuiltStage>();
        ProjectBuildResult? failed = null;
        var started = System.Diagnostics.Stopwatch.StartNew();
        foreach (var stage in expected.Stages)
        {
            if (built.Any(b => b.Stage == stage.Name)) continue;
            var r = builder.Build(project, stage.Name, log);
            built.AddRange(r.Stages.Where(s => built.All(b => b.Stage != s.Stage)));
            if (!r.Succeeded) { failed = r; break; }
        }
        var build = new ProjectBuildResult(project, "lock", built, failed?.Error, started.Elapsed);

        var actual = LockFile.Read(scratch.LockPath(project));
        var differences = new List<VerifyDifference>();
        foreach (var want in expected.Stages)
        {
            var got = actual.Find(want.Name);
            if (got == null)
            {
                differences.Add(new VerifyDifference(want.Name, "(stage)", "built", failed == null ? "not built" : $"not built: {failed.Error}"));
                continue;
            }
            if (got.Fingerprint != want.Fingerprint)
            {
                var why = new Fingerprint(got.Fingerprint, got.Components).Diff(want.Components);
                differences.Add(new VerifyDifference(want.Name, "(fingerprint)", want.Fingerprint,
                    got.Fingerprint + (why.Count > 0 ? $" ({string.Join("; ", why)})" : "")));
            }
            foreach (var (file, sha) in want.Outputs.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                if (!got.Outputs.TryGetValue(file, out var now)) differences.Add(new VerifyDifference(want.Name, file, sha, "missing"));
                else if (now != sha) differences.Add(new VerifyDifference(want.Name, file, sha, now));
            }
            foreach (var file in got.Outputs.Keys.Where(k => !want.Outputs.ContainsKey(k)).Order(StringComparer.Ordinal))
                differences.Add(new VerifyDifference(want.Name, file, "absent", got.Outputs[file]));
        }
        return new VerifyResult(project, expected.Stages.Select(s => s.Name).ToList(), differences, build);
    }
}
