using System.ComponentModel;
using LoraBake.Pipeline;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake run-stage --project NAME --stage STAGE [--force]`: runs one stage if it is stale (what each Cake task
/// calls), commits its output to the store, copies what the user keeps to output/NAME/ and updates lorabake.lock.
/// </summary>
[Description("Run one stage of a project (Download, Process, Train-Epoch-NN, Evaluate) if it is stale, and record it in lorabake.lock.")]
public sealed class RunStageCommand : Command<RunStageCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("-s|--stage <STAGE>")]
        [Description("The stage, as `lorabake plan` lists it.")]
        public string Stage { get; init; } = "";

        [CommandOption("--force")]
        [Description("Run even if the stage is up to date.")]
        public bool Force { get; init; }

        [CommandOption("--no-wait")]
        [Description("Fail at once when another build of the project is running, instead of waiting for it.")]
        public bool NoWait { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("Where models run: auto, cpu, cuda or cuda:N; overrides the recipe's training.device.")]
        public string? Device { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        Run(settings.Project, settings.Stage, settings.Force, settings.NoWait, settings.Device);

    internal static int Run(string project, string stage, bool force, bool noWait = false, string? device = null)
    {
        if (string.IsNullOrWhiteSpace(stage)) throw new LoraBake.Runtime.UserError("no stage given; use --stage NAME (see `lorabake plan --project NAME`).");
        var (layout, recipe, _) = ProjectRecipe.Load(project, device: device);
        var runner = new StageRunner(layout, PipelineStages.CreateCatalog()) { LockWait = noWait ? null : Timeout.InfiniteTimeSpan };
        var outcome = runner.Run(project, recipe, stage, force, Console.WriteLine);
        Console.WriteLine(outcome.Ran
            ? $"{outcome.Stage}: done ({outcome.Fingerprint[..12]})"
            : $"{outcome.Stage}: nothing to run ({outcome.Fingerprint[..12]})");
        return 0;
    }
}

/// <summary>`lorabake download --project NAME`: the Download stage (the base model and VAE into the store).</summary>
[Description("Fetch the project's base model (and VAE) into the store: resumable, verified, shared between projects.")]
public sealed class DownloadCommand : Command<DownloadCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("--force")]
        [Description("Run even if the model is already recorded (a stored file is still reused).")]
        public bool Force { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        RunStageCommand.Run(settings.Project, StageCatalog.Download, settings.Force);
}
