// LoraBake's build. The pipeline, in the order it runs:
//
//   Download -> Process -> Train (Train-Epoch-01 .. NN, Train-Export) -> Evaluate
//
// Each target below runs the stages it needs. Every stage is one task, named PROJECT/STAGE (demo/Download,
// demo/Train-Epoch-03), that runs `lorabake run-stage`; `lorabake plan --json` says which stages exist and which
// are fresh, and a fresh stage's task has a false criteria, so Cake's summary shows it Skipped with the reason.
//
//   ./build.sh --target=Train --project=demo           Download -> Process -> Train
//   ./build.sh --target=Evaluate --project=demo        ... -> Evaluate (grids, report.html)
//   ./build.sh --target=Plan --project=demo            what would run and why (runs nothing)
//   ./build.sh --target=Train --force=Process          rerun a stage even if it is up to date (a slot, a stage, or all)
//   ./build.sh --target=Train --project=all            a pipeline target for every project under projects/
//   ./build.sh --target=Nightly                        every project through Evaluate; failures reported at the end
//   ./build.sh --target=Verify --project=demo          rebuild from scratch in a temp store, compare with lorabake.lock (--stage=A,B: only those)
//   ./build.sh --target=LockDiff --project=demo        which stages of lorabake.lock changed since HEAD (--base=REV), and why
//   ./build.sh --target=Clean --project=demo           remove output/demo and its cache entries
//   ./build.sh --target=Test                           the test suite (Release)
//   ./build.sh --target=Bench [--size=sd15] [--train]  benchmarks (images/s, UNet GFLOP/s, per-block profile, train step per setting)
//
// Many projects (--project=all, Nightly) go through `lorabake build`, one task in Cake: it builds one project after
// another, goes on after a failed project and exits non-zero at the end. Cake stops at the first failed task, and
// would need every project's plan before the first stage runs.
#load "build/lorabake.cake"

var target = Argument("target", "Plan");
var project = Argument("project", "demo");
var force = Argument("force", "");
var lorabake = new LoraBakeCli(Context, MakeAbsolute(Directory("."))) { NoWait = HasArgument("no-wait"), Device = Argument("device", "") };

var stages = RegisterStageTasks(lorabake, project, force, planned: pipelineTargets.Contains(target, StringComparer.OrdinalIgnoreCase));

PipelineTarget("Download", stages, "The base checkpoint (and VAE) into the store, hash-checked.");
PipelineTarget("Process", stages, "Images into aspect buckets, captions and cached latents.");
PipelineTarget("Train", stages, "One task per epoch, each resuming the one before, then the export of NAME-NN.safetensors.");
PipelineTarget("Evaluate", stages, "X/Y/Z grids over epochs and weights, and report.html.");

Task("Nightly")
    .Description("Every project under projects/ (or --project=NAME), one after another, through Evaluate.")
    .Does(() => lorabake.Build(HasArgument("project") ? project : "all", "Nightly"));
// On GitHub Actions the workflow writes the job summary with `lorabake summary` (testable without Cake).

Task("Plan")
    .Description("Show each stage of --project as fresh or stale (and why); runs nothing.")
    .Does(() => lorabake.Execute("plan", "--project", project, force == "" ? null : "--force", force == "" ? null : force,
        lorabake.Device == "" ? null : "--device", lorabake.Device == "" ? null : lorabake.Device));

Task("Verify")
    .Description("Rebuild --project from scratch in a temporary store and compare every output hash with its lorabake.lock; fails on a difference.")
    .Does(() => lorabake.Execute("verify", "--project", project, HasArgument("stage") ? "--stage" : null, HasArgument("stage") ? Argument<string>("stage") : null));

Task("LockDiff")
    .Description("Say which stages of --project's lorabake.lock changed since --base (default HEAD), and why.")
    .Does(() => lorabake.Execute("lock-diff", "--project", project, "--base", Argument("base", "HEAD")));

Task("Clean")
    .Description("Remove output/PROJECT and the project's cache entries that no other project uses.")
    .Does(() => lorabake.Execute("clean", "--project", project));

Task("Bench")
    .Description("Benchmarks: image processing (images/s) and the model stack (--size=tiny|sd15, default tiny). --train adds the per-block profile of a training step, one full-size grid cell (sd15), and one line per training setting, each in its own process; --cell the grid cell alone; --noop the median no-op rerun of the demo.")
    .Does(() =>
    {
        var size = Argument("size", "tiny");
        lorabake.Execute("bench", "process", "--count", Argument("count", "200"));
        if (HasArgument("train")) lorabake.Execute("bench", "model", "--size", size, "--profile", "--mixed-precision", "auto");
        if (HasArgument("cell") || (HasArgument("train") && size == "sd15")) lorabake.Execute("bench", "cell", "--steps", Argument("steps", "20"));
        // Last, so the run ends with one comparable line per training setting.
        lorabake.Execute("bench", "model", "--size", size, HasArgument("train") ? "--train" : null);
        if (HasArgument("noop") && StartProcess("bash", "build/bench/noop-rerun.sh") != 0) throw new CakeException("the no-op rerun bench failed");
    });

Task("Test")
    .Description("Run the test suite (Release).")
    .Does(() => DotNetTest(MakeAbsolute(File("LoraBake.sln")).FullPath, new DotNetTestSettings { Configuration = "Release" }));

RunTarget(target);
