using System.ComponentModel;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake clean --project NAME`: removes output/NAME and the project's cache entries (not shared ones).</summary>
[Description("Remove output/NAME and the store entries recorded in the project's lorabake.lock that no other project uses. The recipe, dataset and lock stay.")]
public sealed class CleanCommand : Command<CleanCommand.Settings>
{
    public sealed class Settings : ProjectSettings;

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        settings.RequireProject();
        var layout = RepoLayout.Discover();
        if (!Directory.Exists(layout.ProjectDir(settings.Project)))
            throw new UserError($"there is no project {settings.Project} (no folder {layout.ProjectDir(settings.Project)}); see projects/ for the names.");
        var report = ProjectCleaner.Clean(layout, settings.Project);
        Console.WriteLine($"{settings.Project}: removed {(report.OutputRemoved ? $"output/{settings.Project}, " : "")}{report.EntriesRemoved.Count} store entr{(report.EntriesRemoved.Count == 1 ? "y" : "ies")} and {report.BlobsRemoved.Count} stored file(s)" +
            (report.Kept.Count > 0 ? $"; kept {report.Kept.Count} shared with other projects" : "") + ".");
        return 0;
    }
}
