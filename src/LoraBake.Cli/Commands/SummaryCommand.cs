using System.ComponentModel;
using LoraBake.Evaluation;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake summary --project NAME [--plan-before FILE]`: a project's build as Markdown (the CI job summary).</summary>
[Description("Print a project's build as Markdown for a CI job summary: stages rebuilt or cached and why (from a plan --json taken before the build), the recommended epoch and weight, the loss.")]
public sealed class SummaryCommand : Command<SummaryCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("--plan-before <FILE>")]
        [Description("The output of `lorabake plan --project NAME --json` saved before the build: says which stages were rebuilt and why.")]
        public string? PlanBefore { get; init; }

        [CommandOption("--markdown")]
        [Description("Markdown output (the only format; accepted for clarity in scripts).")]
        public bool Markdown { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        settings.RequireProject();
        string? plan = null;
        if (settings.PlanBefore != null)
        {
            if (!File.Exists(settings.PlanBefore)) throw new UserError($"--plan-before {settings.PlanBefore}: no such file; save `lorabake plan --project {settings.Project} --json` there before the build.");
            plan = File.ReadAllText(settings.PlanBefore);
        }
        Console.Write(ProjectSummary.Markdown(RepoLayout.Discover(), settings.Project, plan));
        return 0;
    }
}
