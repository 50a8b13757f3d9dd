using System.ComponentModel;
using System.Text.Json;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake plan --project NAME [--json]`: every stage, fresh or stale and why. Runs and writes nothing.</summary>
[Description("Show what a build of the project would run, and why: each stage fresh or stale (with the input that changed).")]
public sealed class PlanCommand : Command<PlanCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("--json")]
        [Description("Print the plan as JSON (what build.cake reads).")]
        public bool Json { get; init; }

        [CommandOption("--force <STAGE>")]
        [Description("Treat this stage as stale (\"forced\"); \"all\" forces every stage. May be repeated.")]
        public string[] Force { get; init; } = [];

        [CommandOption("--device <DEVICE>")]
        [Description("Where models run: auto, cpu, cuda or cuda:N; overrides the recipe's training.device.")]
        public string? Device { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var (layout, recipe, recipeWarnings) = ProjectRecipe.Load(settings.Project, printWarnings: !settings.Json, device: settings.Device);
        // Nothing to train on is the first thing to fix; say so here rather than plan "0 steps per epoch".
        LoraBake.Data.DatasetDiscovery.DiscoverTrainable(RecipeLoader.ProjectDir(recipe), settings.Project, recipe.Dataset);
        var plan = new Planner(layout, new ArtifactStore(layout.StoreDir), PipelineStages.CreateCatalog())
            .Build(settings.Project, recipe, settings.Force.SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList());
        var steps = StepMath.Estimate(recipe, DatasetCensus.Count(recipe, RecipeLoader.ProjectDir(recipe)));
        var warnings = recipeWarnings.Concat(plan.Warnings).Concat(steps.Warnings).ToList();
        // A device this build cannot give stops the first Train or Evaluate stage; say so before it runs.
        string deviceSetting = settings.Device is null ? "training.device" : DeviceOverride.Flag;
        string? deviceProblem = null;
        try { ComputeDevice.Select(recipe.Training.Device, deviceSetting); }
        catch (UserError e) { deviceProblem = e.Message; warnings.Add(e.Message); }

        if (settings.Json)
        {
            var json = new
            {
                project = plan.Project,
                stages = plan.Stages.Select(s => new
                {
                    name = s.Name,
                    slot = s.Slot,
                    epoch = (s.Stage as LoraBake.Training.TrainEpochStage)?.Epoch,
                    status = s.Status.ToString().ToLowerInvariant(),
                    forced = s.Forced,
                    reason = s.Reason,
                    fingerprint = s.Fingerprint?.Hash,
                    depends_on = s.DependsOn,
                }),
                steps = new
                {
                    subsets = steps.Subsets.Select(x => new { path = x.Subset, images = x.Images, repeats = x.Repeats }),
                    batch_size = steps.BatchSize,
                    images_times_repeats = steps.ImagesTimesRepeats,
                    steps_per_epoch = steps.StepsPerEpoch,
                    total_steps = steps.TotalSteps,
                    epochs = steps.Epochs,
                    warmup_steps = steps.WarmupSteps,
                    buckets = steps.Buckets,
                },
                optimizer_override = AdaptiveOptimizerOverride.Describe(recipe),
                mixed_precision = new
                {
                    setting = recipe.Training.MixedPrecision, resolved = LoraBake.Training.AutoPrecision.Resolve(recipe.Training.MixedPrecision),
                    frozen_weights = LoraBake.Training.TrainEpochStage.Precision(recipe.Training).Describe,
                },
                numerics = LoraBake.Numerics.NumericsGuard.Current.Environment,
                device = new { setting = recipe.Training.Device, resolved = ComputeDevice.Resolve(recipe.Training.Device), cuda_available = ComputeDevice.CudaAvailable },
                warnings,
            };
            Console.WriteLine(JsonSerializer.Serialize(json, CliJson.Options));
            return 0;
        }

        var table = new Table().AddColumn("stage").AddColumn("status").AddColumn("why").AddColumn("fingerprint");
        foreach (var s in plan.Stages)
        {
            var status = s.Status == StageStatus.Fresh ? "[green]fresh[/]" : "[yellow]stale[/]";
            table.AddRow(Markup.Escape(s.Name), status, Markup.Escape(s.Reason), s.Fingerprint?.Hash[..12] ?? "-");
        }
        AnsiConsole.MarkupLine($"Plan for project [bold]{Markup.Escape(plan.Project)}[/] ({Markup.Escape(RecipeLoader.DisplayPath(layout.Root, recipe.SourcePath))}):");
        AnsiConsole.Write(table);
        foreach (var line in steps.Describe()) Console.WriteLine(line);
        Console.WriteLine("⚙️ device: " + ComputeDevice.Describe(recipe.Training.Device, deviceSetting));
        if (deviceProblem is not null) AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(deviceProblem)}");
        if (AdaptiveOptimizerOverride.Describe(recipe) is { } optimizerLine) Console.WriteLine("⚙️ " + optimizerLine);
        if (recipe.Training.MixedPrecision == "auto") Console.WriteLine("⚙️ " + LoraBake.Training.AutoPrecision.Current.Summary);
        if (LoraBake.Training.TrainEpochStage.Precision(recipe.Training) is { Widened: true } frozen)
            Console.WriteLine($"⚙️ mixed_precision {recipe.Training.MixedPrecision}: {frozen.Describe} (this CPU's bf16 math failed the numerics self-test)");
        var guard = LoraBake.Numerics.NumericsGuard.Current;
        Console.WriteLine("⚙️ numerics: " + guard.Environment + (guard.ForcedBy is { } by ? $" (route set by {by})" : ""));
        foreach (var w in plan.Warnings) AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        return 0;
    }
}
