using System.ComponentModel;
using LoraBake.Pipeline;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake process --project NAME`: the Process stage (dataset → bucketed images, captions, dataset.json).</summary>
[Description("Process the project's dataset: check and decode images, assign buckets, read captions; writes output/NAME/dataset.json.")]
public sealed class ProcessCommand : Command<ProcessCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("--force")]
        [Description("Run even if the stage is up to date (unchanged images still come from the cache).")]
        public bool Force { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        RunStageCommand.Run(settings.Project, StageCatalog.Process, settings.Force);
}
