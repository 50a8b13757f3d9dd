// The `lorabake` CLI as Cake sees it: the built dll (build.sh builds it once per run), its plan, its stages.
using System.Text.Json;

public sealed record PlannedStage(string Name, string Status, string Reason, string[] DependsOn);
public sealed record PipelinePlan(string Project, PlannedStage[] Stages, string[] Warnings);

public static class StageTasks
{
    // Stage tasks must not share a name with the user-facing targets Download/Process/Evaluate.
    public static string TaskName(string stage) => stage switch
    {
        "Download" => "Download-Model",
        "Process" => "Process-Dataset",
        "Evaluate" => "Evaluate-Grids",
        _ => stage,
    };
}

public sealed class LoraBakeCli
{
    private readonly ICakeContext _context;
    private readonly DirectoryPath _root;
    private readonly FilePath _dll;

    public LoraBakeCli(ICakeContext context, DirectoryPath root)
    {
        _context = context;
        _root = root;
        _dll = root.CombineWithFilePath("src/LoraBake.Cli/bin/Release/net10.0/lorabake.dll");
    }

    /// <summary>Runs `lorabake ARGS` in the repository root; a non-zero exit fails the task.</summary>
    public void Execute(params string[] args)
    {
        if (!_context.FileSystem.Exist(_dll))
            throw new CakeException($"{_dll.FullPath} is missing; run ./build.sh (it builds the CLI first), not `dotnet cake` directly.");
        var arguments = new ProcessArgumentBuilder();
        foreach (var a in args.Where(a => a != null)) arguments.AppendQuoted(a);
        _context.DotNetExecute(_dll, arguments, new DotNetExecuteSettings { WorkingDirectory = _root });
    }

    /// <summary>--no-wait: a stage fails at once when another build of the project runs, instead of waiting for it.</summary>
    public bool NoWait { get; set; }

    public void RunStage(string project, string stage, bool force) =>
        Execute("run-stage", "--project", project, "--stage", stage, force ? "--force" : null, NoWait ? "--no-wait" : null);

    /// <summary>`lorabake plan --json`; recipe errors are printed by the CLI and stop the build.</summary>
    public PipelinePlan Plan(string project, string force)
    {
        var args = $"\"{_dll.FullPath}\" plan --project \"{project}\" --json" + (force == "" ? "" : $" --force \"{force}\"");
        var exit = _context.StartProcess("dotnet", new ProcessSettings
        {
            Arguments = args,
            WorkingDirectory = _root,
            RedirectStandardOutput = true,
        }, out IEnumerable<string> output);
        if (exit != 0) throw new CakeException($"lorabake plan --project {project} failed (exit code {exit}); see the messages above.");
        var plan = JsonSerializer.Deserialize<PipelinePlan>(string.Join("\n", output),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
        foreach (var w in plan.Warnings) _context.Warning(w);
        return plan;
    }
}
