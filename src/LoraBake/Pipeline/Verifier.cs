using System.Globalization;
using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>A place where a rebuild disagrees with lorabake.lock. File is "(fingerprint)" or "(stage)" for whole-stage problems.</summary>
public sealed record VerifyDifference(string Stage, string File, string Expected, string Actual);

/// <summary>How a rebuilt stage compares with the lock.</summary>
public enum VerifyVerdict { Identical, WithinTolerance, Differs }

/// <summary>One stage's verdict; <see cref="MaxRelativeDifference"/> is the largest estimated ‖Δ‖/‖x‖ over its float outputs (0 when identical).</summary>
public sealed record StageVerdict(string Stage, VerifyVerdict Verdict, double MaxRelativeDifference, string? Why);

public sealed record VerifyResult(string Project, IReadOnlyList<string> CheckedStages, IReadOnlyList<VerifyDifference> Differences, ProjectBuildResult Build,
    IReadOnlyList<StageVerdict> Verdicts)
{
    public bool Matches => Differences.Count == 0 && Build.Succeeded;
    /// <summary>Identical when every stage is; else within tolerance when none differs.</summary>
    public VerifyVerdict Verdict => !Matches ? VerifyVerdict.Differs
        : Verdicts.Any(v => v.Verdict == VerifyVerdict.WithinTolerance) ? VerifyVerdict.WithinTolerance : VerifyVerdict.Identical;
    public double MaxRelativeDifference => Verdicts.Select(v => v.MaxRelativeDifference).DefaultIfEmpty(0).Max();
}

/// <summary>
/// Rebuilds every stage recorded in a project's lorabake.lock from scratch — a fresh store, output folder and
/// lock under <c>workDir</c>, the recipe and dataset read where they are — and compares each stage's fingerprint
/// and output hashes with the lock. The real store, output/NAME/ and the real lock are never written.
///
/// Float results are equal bit for bit only where the same kernels ran: where the lock's recorded numerics
/// environment (LibTorch, CPU kernel family, threads, convolution route) equals the rebuild's, every byte must
/// match; where it differs, an output whose hash differs is compared through the sketches both locks hold
/// (<see cref="OutputSketch"/>) against <see cref="VerifyTolerance"/>.
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
        var verdicts = new List<StageVerdict>();
        foreach (var want in expected.Stages)
        {
            var got = actual.Find(want.Name);
            if (got == null)
            {
                differences.Add(new VerifyDifference(want.Name, "(stage)", "built", failed == null ? "not built" : $"not built: {failed.Error}"));
                verdicts.Add(new StageVerdict(want.Name, VerifyVerdict.Differs, double.PositiveInfinity, "not built"));
                continue;
            }
            var (stageDifferences, verdict) = Compare(want, got);
            differences.AddRange(stageDifferences);
            verdicts.Add(verdict);
        }
        return new VerifyResult(project, expected.Stages.Select(s => s.Name).ToList(), differences, build, verdicts);
    }

    /// <summary>One stage of the lock (<paramref name="want"/>) against its rebuild (<paramref name="got"/>).</summary>
    public static (List<VerifyDifference> Differences, StageVerdict Verdict) Compare(LockFile.StageRecord want, LockFile.StageRecord got)
    {
        var differences = new List<VerifyDifference>();
        double worst = 0;
        if (got.Fingerprint != want.Fingerprint)
        {
            var why = new Fingerprint(got.Fingerprint, got.Components).Diff(want.Components);
            differences.Add(new VerifyDifference(want.Name, "(fingerprint)", want.Fingerprint,
                got.Fingerprint + (why.Count > 0 ? $" ({string.Join("; ", why)})" : "")));
        }
        bool sameNumerics = want.Numerics != null && want.Numerics == got.Numerics;
        foreach (var (file, sha) in want.Outputs.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (!got.Outputs.TryGetValue(file, out var now)) differences.Add(new VerifyDifference(want.Name, file, sha, "missing"));
            else if (now == sha) continue;
            else if (got.Sketches.Count == 0) differences.Add(new VerifyDifference(want.Name, file, sha, now));   // not float results: bytes
            else if (sameNumerics)
                differences.Add(new VerifyDifference(want.Name, file, sha, $"{now} (same numerics environment, so the bytes must be equal: {got.Numerics})"));
            else if (!want.Sketches.TryGetValue(file, out var w) || !got.Sketches.TryGetValue(file, out var g))
                differences.Add(new VerifyDifference(want.Name, file, sha,
                    $"{now} (the lock has no float sketch of this file to compare within a tolerance{(want.Sketches.Count == 0 ? "; it was made by an older LoraBake: rebuild and commit it" : "")})"));
            else
            {
                var expected = OutputSketch.Parse(w);
                double delta = OutputSketch.RelativeDifference(expected, OutputSketch.Parse(g));
                double allowed = VerifyTolerance.For(expected.Kind);
                if (delta <= allowed) worst = Math.Max(worst, delta);
                else differences.Add(new VerifyDifference(want.Name, file, sha,
                    double.IsPositiveInfinity(delta) ? $"{now} (a different structure: shapes, size or text)"
                        : string.Create(CultureInfo.InvariantCulture, $"{now} (rel Δ ≈ {delta:0.0e0}, allowed {allowed:0.0e0} for {expected.Kind} across numerics environments)")));
            }
        }
        foreach (var file in got.Outputs.Keys.Where(k => !want.Outputs.ContainsKey(k)).Order(StringComparer.Ordinal))
            differences.Add(new VerifyDifference(want.Name, file, "absent", got.Outputs[file]));
        var verdict = differences.Count > 0 ? new StageVerdict(want.Name, VerifyVerdict.Differs, double.PositiveInfinity, differences[0].Actual)
            : want.Outputs.Any(o => got.Outputs[o.Key] != o.Value)
                ? new StageVerdict(want.Name, VerifyVerdict.WithinTolerance, worst, $"built with {got.Numerics}; the lock's: {want.Numerics ?? "unknown"}")
                : new StageVerdict(want.Name, VerifyVerdict.Identical, 0, null);
        return (differences, verdict);
    }
}
