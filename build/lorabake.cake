// The `lorabake` CLI as Cake sees it (the built dll; build.sh builds it once per run), its plan, and the two
// helpers build.cake is written with: RegisterStageTasks (one task per stage) and PipelineTarget.
using System.Text.Json;
using System.Text.Json.Serialization;

/// <summary>The user-facing targets, one per slot of the pipeline, in order.</summary>
var pipelineTargets = new[] { "Download", "Process", "Train", "Evaluate" };

public enum StageStatus { Fresh, Stale }

/// <summary>One stage of `lorabake plan --json`. Slot is the target it belongs to; Forced: stale because of --force.</summary>
public sealed record PlannedStage(string Name, string Slot, StageStatus Status, bool Forced, string Reason, string[] DependsOn);
public sealed record PipelinePlan(string Project, PlannedStage[] Stages, string[] Warnings);

/// <summary>The stage tasks of this run: one project's plan, or none when the target is not a pipeline target or the project is "all".</summary>
public sealed record StageTasks(LoraBakeCli Lorabake, string Project, PipelinePlan Plan)
{
    public bool AllProjects => Project.Equals("all", StringComparison.OrdinalIgnoreCase);
    public static string TaskName(string project, string stage) => $"{project}/{stage}";
}

/// <summary>
/// Registers one task per stage of the project's plan, PROJECT/STAGE, depending on the tasks of the stages it
/// needs. A fresh stage gets a false criteria (Cake's summary: Skipped, with the reason); a stale one runs
/// `lorabake run-stage`, which prints "STAGE: running (why)".
/// </summary>
StageTasks RegisterStageTasks(LoraBakeCli lorabake, string project, string force, bool planned)
{
    var stages = new StageTasks(lorabake, project, new PipelinePlan(project, [], []));
    if (!planned || stages.AllProjects) return stages;
    stages = stages with { Plan = lorabake.Plan(project, force) };
    foreach (var stage in stages.Plan.Stages)
    {
        var task = Task(StageTasks.TaskName(project, stage.Name))
            .Description(stage.Reason)
            .WithCriteria(stage.Status == StageStatus.Stale, stage.Reason)
            .Does(() => lorabake.RunStage(project, stage.Name, stage.Forced));
        foreach (var dependency in stage.DependsOn) task.IsDependentOn(StageTasks.TaskName(project, dependency));
    }
    return stages;
}

/// <summary>
/// A pipeline target: depends on its slot's stage tasks (Train: every epoch and the export). Cake refuses to skip
/// the target itself, so criteria live on the stage tasks. For --project=all it runs `lorabake build` instead.
/// </summary>
CakeTaskBuilder PipelineTarget(string slot, StageTasks stages, string description)
{
    var target = Task(slot).Description(description);
    if (stages.AllProjects) return target.Does(() => stages.Lorabake.Build("all", slot));
    foreach (var stage in stages.Plan.Stages.Where(s => s.Slot == slot)) target.IsDependentOn(StageTasks.TaskName(stages.Project, stage.Name));
    return target;
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

    /// <summary>--device=D: where models run (auto, cpu, cuda, cuda:N), overriding the recipes' training.device; "" keeps them.</summary>
    public string Device { get; set; } = "";

    public void RunStage(string project, string stage, bool force) =>
        Execute("run-stage", "--project", project, "--stage", stage, force ? "--force" : null, NoWait ? "--no-wait" : null,
            Device == "" ? null : "--device", Device == "" ? null : Device);

    /// <summary>`lorabake build`: a target of one project or of every project ("all"), without Cake (see build.cake).</summary>
    public void Build(string project, string target) =>
        Execute("build", "--project", project, "--target", target, NoWait ? "--no-wait" : null,
            Device == "" ? null : "--device", Device == "" ? null : Device);

    /// <summary>`lorabake plan --json`; recipe errors are printed by the CLI and stop the build.</summary>
    public PipelinePlan Plan(string project, string force)
    {
        var args = $"\"{_dll.FullPath}\" plan --project \"{project}\" --json" + (force == "" ? "" : $" --force \"{force}\"")
            + (Device == "" ? "" : $" --device \"{Device}\"");
        var exit = _context.StartProcess("dotnet", new ProcessSettings
        {
            Arguments = args,
            WorkingDirectory = _root,
            RedirectStandardOutput = true,
        }, out IEnumerable<string> output);
        if (exit != 0) throw new CakeException($"lorabake plan --project {project} failed (exit code {exit}); see the messages above.");
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        var plan = JsonSerializer.Deserialize<PipelinePlan>(string.Join("\n", output), options);
        foreach (var w in plan.Warnings) _context.Warning(w);
        return plan;
    }
}
