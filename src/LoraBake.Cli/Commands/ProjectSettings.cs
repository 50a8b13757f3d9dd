using System.ComponentModel;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>The option every per-project command takes first: <c>-p|--project NAME</c>.</summary>
public class ProjectSettings : CommandSettings
{
    [CommandOption("-p|--project <NAME>")]
    [Description("The project (a folder under projects/).")]
    public string Project { get; init; } = "";

    /// <summary><see cref="Project"/>, or a UserError when none was given.</summary>
    public string RequireProject() => Require(Project);

    /// <summary><paramref name="project"/>, or a UserError when it is empty.</summary>
    internal static string Require(string project) =>
        string.IsNullOrWhiteSpace(project) ? throw new UserError("no project given; use --project NAME (a folder under projects/).") : project;
}
