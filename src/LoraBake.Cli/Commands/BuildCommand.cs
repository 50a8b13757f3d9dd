using System.ComponentModel;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake build --project NAME|all --target Train|Evaluate|Nightly`: the stale stages of the target in order
/// (what the Cake tasks do, without Cake). With "all", every project under projects/, one after another; a
/// failed project is reported and the others still build; the exit code is 1 when any failed.
/// </summary>
[Description("Build a project's target (Download, Process, Train, Evaluate, Nightly = Evaluate); --project all builds every project and reports failures at the end.")]
public sealed class BuildCommand : Command<BuildCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-p|--project <NAME>")]
        [Description("The project (a folder under projects/), or \"all\".")]
        public string Project { get; init; } = "";

        [CommandOption("-t|--target <TARGET>")]
        [Description("Download, Process, Train, Evaluate, a stage name, or Nightly (the default).")]
        public string Target { get; init; } = ProjectBuilder.Nightly;

        [CommandOption("--no-wait")]
        [Description("Fail a project at once when another build of it is running, instead of waiting for it.")]
        public bool NoWait { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("Where models run: auto, cpu, cuda or cuda:N; overrides the recipe's training.device.")]
        public string? Device { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(settings.Project)) throw new UserError("no project given; use --project NAME, or --project all for every project under projects/.");
        var layout = RepoLayout.Discover();
        var projects = settings.Project.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? ProjectBuilder.Projects(layout)
            : [settings.Project];
        if (projects.Count == 0) throw new UserError($"no projects under {layout.ProjectsDir} (folders with a project.yaml).");

        var builder = new ProjectBuilder(layout, PipelineStages.CreateCatalog) { LockWait = settings.NoWait ? null : Timeout.InfiniteTimeSpan, Device = settings.Device };
        var results = new List<ProjectBuildResult>();
        foreach (var project in projects)
        {
            Console.WriteLine($"== {project}: {settings.Target}");
            var r = builder.Build(project, settings.Target, line => Console.WriteLine($"  {line}"));
            if (r.Error != null) Console.Error.WriteLine($"error: project {project}: {r.Error}");
            results.Add(r);
        }

        // Stage names only: why each ran is in its "running (...)" line above.
        var table = new Table().AddColumn("project").AddColumn("target").AddColumn("result").AddColumn("ran").AddColumn("skipped").AddColumn("time");
        foreach (var r in results)
            table.AddRow(Markup.Escape(r.Project), Markup.Escape(r.Target),
                r.Succeeded ? "[green]ok[/]" : $"[red]failed[/]: {Markup.Escape(r.Error!.Split('\n').Last())}",
                Markup.Escape(string.Join(", ", r.Stages.Where(s => s.Ran).Select(s => s.Stage)) is { Length: > 0 } ran ? ran : "-"),
                r.Stages.Count(s => !s.Ran).ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"{r.Elapsed.TotalSeconds:0.0}s");
        AnsiConsole.Write(table);
        var failed = results.Where(r => !r.Succeeded).Select(r => r.Project).ToList();
        if (failed.Count > 0)
        {
            Console.Error.WriteLine($"{failed.Count} of {results.Count} project(s) failed: {string.Join(", ", failed)}");
            return 1;
        }
        return 0;
    }
}
