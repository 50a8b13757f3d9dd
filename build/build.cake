// LoraBake's task graph, kept thin: every stage task runs one `lorabake run-stage` process.
// The plan (`lorabake plan --json`) decides which stages exist and which are fresh; a fresh stage is
// registered with a false criteria, so Cake shows it as Skipped with the reason in its summary.
//
//   ./build.sh --target=Train --project=demo           Download -> Process -> Train-Epoch-01..NN
//   ./build.sh --target=Plan --project=demo            what would run and why (runs nothing)
//   ./build.sh --target=Download --force=Download      rerun one stage even if it is up to date ("all": every stage)
//   ./build.sh --target=Clean --project=demo           remove output/demo and its cache entries
//   ./build.sh --target=Test                           the test suite (Release)
//   ./build.sh --target=Bench [--size=sd15] [--train]  benchmarks (images/s, UNet GFLOP/s, train step)
//   ./build.sh --target=Nightly                        every project: Evaluate if available, else Train; failures reported at the end
//   ./build.sh --target=Train --project=all            any pipeline target over every project under projects/
//   ./build.sh --target=Verify --project=demo          rebuild from scratch in a temp store, compare with lorabake.lock (--stage=A,B: only those)
//   ./build.sh --target=LockDiff --project=demo        which stages of lorabake.lock changed since HEAD (--base=REV), and why
#load "lorabake.cake"

var target = Argument("target", "Plan");
var project = Argument("project", "demo");
var force = Argument("force", "");

// Cake runs with the script's folder (build/) as working directory; everything else is relative to the repo root.
var repoRoot = MakeAbsolute(Directory(".."));
var lorabake = new LoraBakeCli(Context, repoRoot) { NoWait = HasArgument("no-wait") };

var pipelineTargets = new[] { "Download", "Process", "Train", "Evaluate" };
var allProjects = project.Equals("all", StringComparison.OrdinalIgnoreCase);
if (allProjects && pipelineTargets.Contains(target, StringComparer.OrdinalIgnoreCase))
{
    // Many projects: `lorabake build` runs each one's stale stages in order, goes on after a failed project
    // and exits non-zero at the end if any failed (one Cake task per stage would stop at the first failure).
    Task(target).Does(() => lorabake.Execute("build", "--project", "all", "--target", target, lorabake.NoWait ? "--no-wait" : null));
}
else if (pipelineTargets.Contains(target, StringComparer.OrdinalIgnoreCase))
{
    var plan = lorabake.Plan(project, force);
    foreach (var stage in plan.Stages)
    {
        var task = Task(StageTasks.TaskName(stage.Name)).Description(stage.Reason);
        foreach (var dependency in stage.DependsOn) task.IsDependentOn(StageTasks.TaskName(dependency));
        if (stage.Status == "unavailable")
        {
            var message = $"{stage.Name}: {stage.Reason} in this version of LoraBake";
            task.Does(() => throw new CakeException(message));
        }
        else
        {
            var name = stage.Name;
            var forced = stage.Reason == "forced";
            task.WithCriteria(stage.Status == "stale", stage.Reason)
                .Does(() => lorabake.RunStage(project, name, forced));
        }
    }
    // The user-facing targets are plain aggregates: Cake refuses to skip a target, so criteria live on the stage tasks.
    Task("Download").IsDependentOn(StageTasks.TaskName("Download"));
    Task("Process").IsDependentOn(StageTasks.TaskName("Process"));
    var train = Task("Train");
    foreach (var stage in plan.Stages.Where(s => s.Name.StartsWith("Train-", StringComparison.Ordinal))) train.IsDependentOn(stage.Name);
    Task("Evaluate").IsDependentOn(StageTasks.TaskName("Evaluate"));
}

Task("Nightly")
    .Description("Every project under projects/ (or --project=NAME), one after another: Evaluate when this build has it, else Train.")
    .Does(() => lorabake.Execute("build", "--project", HasArgument("project") ? project : "all", "--target", "Nightly", lorabake.NoWait ? "--no-wait" : null));
// On GitHub Actions the workflow writes the job summary with `lorabake summary` (testable without Cake);
// BuildSystem.GitHubActions.IsRunningOnGitHubActions / GitHubActions.Commands.SetStepSummary would do the same from here.

Task("Verify")
    .Description("Rebuild --project from scratch in a temporary store and compare every output hash with its lorabake.lock; fails on a difference.")
    .Does(() => lorabake.Execute("verify", "--project", project, HasArgument("stage") ? "--stage" : null, HasArgument("stage") ? Argument<string>("stage") : null));

Task("LockDiff")
    .Description("Say which stages of --project's lorabake.lock changed since --base (default HEAD), and why.")
    .Does(() => lorabake.Execute("lock-diff", "--project", project, "--base", Argument("base", "HEAD")));

Task("Plan")
    .Description("Show each stage of --project as fresh, stale (and why) or not available yet; runs nothing.")
    .Does(() => lorabake.Execute("plan", "--project", project, force == "" ? null : "--force", force == "" ? null : force));

Task("Clean")
    .Description("Remove output/PROJECT and the project's cache entries that no other project uses.")
    .Does(() => lorabake.Execute("clean", "--project", project));

Task("Bench")
    .Description("Benchmarks: image processing (images/s) and the model stack (--size=tiny|sd15, default tiny; --train adds a training step, --cell one full-size SD1.5 grid cell).")
    .Does(() =>
    {
        lorabake.Execute("bench", "process", "--count", Argument("count", "200"));
        lorabake.Execute("bench", "model", "--size", Argument("size", "tiny"), HasArgument("train") ? "--train" : null);
        if (HasArgument("cell")) lorabake.Execute("bench", "cell", "--steps", Argument("steps", "20"));
    });

Task("Test")
    .Description("Run the test suite (Release).")
    .Does(() => DotNetTest(repoRoot.CombineWithFilePath("LoraBake.sln").FullPath, new DotNetTestSettings { Configuration = "Release" }));

RunTarget(target);
