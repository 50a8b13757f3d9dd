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
#load "lorabake.cake"

var target = Argument("target", "Plan");
var project = Argument("project", "demo");
var force = Argument("force", "");

// Cake runs with the script's folder (build/) as working directory; everything else is relative to the repo root.
var repoRoot = MakeAbsolute(Directory(".."));
var lorabake = new LoraBakeCli(Context, repoRoot);

var pipelineTargets = new[] { "Download", "Process", "Train", "Evaluate" };
if (pipelineTargets.Contains(target, StringComparer.OrdinalIgnoreCase))
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

Task("Plan")
    .Description("Show each stage of --project as fresh, stale (and why) or not available yet; runs nothing.")
    .Does(() => lorabake.Execute("plan", "--project", project, force == "" ? null : "--force", force == "" ? null : force));

Task("Clean")
    .Description("Remove output/PROJECT and the project's cache entries that no other project uses.")
    .Does(() => lorabake.Execute("clean", "--project", project));

Task("Bench")
    .Description("Benchmarks: image processing (images/s) and the model stack (--size=tiny|sd15, default tiny; add --train for a training step).")
    .Does(() =>
    {
        lorabake.Execute("bench", "process", "--count", Argument("count", "200"));
        lorabake.Execute("bench", "model", "--size", Argument("size", "tiny"), HasArgument("train") ? "--train" : null);
    });

Task("Test")
    .Description("Run the test suite (Release).")
    .Does(() => DotNetTest(repoRoot.CombineWithFilePath("LoraBake.sln").FullPath, new DotNetTestSettings { Configuration = "Release" }));

RunTarget(target);
