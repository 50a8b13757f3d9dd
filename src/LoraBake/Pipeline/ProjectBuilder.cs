using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>One stage of a <see cref="ProjectBuilder"/> run: run or skipped, and why.</summary>
public sealed record BuiltStage(string Stage, bool Ran, string Reason);

/// <summary>What <see cref="ProjectBuilder.Build"/> did for one project.</summary>
public sealed record ProjectBuildResult(string Project, string Target, IReadOnlyList<BuiltStage> Stages, string? Error, TimeSpan Elapsed)
{
    public bool Succeeded => Error == null;
}

/// <summary>
/// Builds a project's target without Cake: the target's stages (and all they need) in run order, each through
/// <see cref="StageRunner"/>, so fresh stages are skipped exactly as the Cake tasks skip them. Targets are the
/// slots (Download, Process, Train, Evaluate) or a stage name; "Nightly" is Evaluate, the whole pipeline.
/// </summary>
public sealed class ProjectBuilder(RepoLayout layout, Func<StageCatalog> catalogFactory)
{
    public const string Nightly = "Nightly";

    /// <summary>How long a project's stages wait for another build of it (null: fail at once; <see cref="BuildLock.Acquire"/>).</summary>
    public TimeSpan? LockWait { get; init; }

    /// <summary>The command's --device, replacing each recipe's training.device; null keeps the recipe's.</summary>
    public string? Device { get; init; }

    /// <summary>Builds one project; a failure (bad recipe, a stage that throws) is returned, not thrown.</summary>
    public ProjectBuildResult Build(string project, string target, Action<string>? log = null)
    {
        log ??= _ => { };
        var started = System.Diagnostics.Stopwatch.StartNew();
        var stages = new List<BuiltStage>();
        var resolved = target;
        try
        {
            var recipe = DeviceOverride.Apply(RecipeLoader.Load(layout, project).ThrowIfErrors(), Device);
            if (Numerics.NumericsGuard.ApplyRecipe(recipe.Training.ConvRoute, RecipeLoader.DisplayPath(layout.Root, recipe.SourcePath)) is { } routeError)
                throw new UserError(routeError);
            var catalog = catalogFactory();
            var runner = new StageRunner(layout, catalog) { LockWait = LockWait };
            var plan = new Planner(layout, runner.Store, catalog).Build(project, recipe);
            resolved = ResolveTarget(target);
            foreach (var stage in StagesOf(plan, resolved))
            {
                var outcome = runner.Run(project, recipe, stage.Name, force: false, log);
                stages.Add(new BuiltStage(outcome.Stage, outcome.Ran, outcome.Reason));
            }
            return new ProjectBuildResult(project, resolved, stages, null, started.Elapsed);
        }
        // Any failure of one project is its result, so a nightly build of many projects goes on with the next.
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var message = e is UserError ? e.Message : $"{e.GetType().Name}: {e.Message}";
            return new ProjectBuildResult(project, resolved, stages, message, started.Elapsed);
        }
    }

    /// <summary>Nightly → Evaluate (every stage); other names pass through.</summary>
    public static string ResolveTarget(string target) =>
        target.Equals(Nightly, StringComparison.OrdinalIgnoreCase) ? StageCatalog.Evaluate : target;

    /// <summary>The stages a target needs, in run order: a slot's stages and their upstream, or one stage's closure.</summary>
    public static IReadOnlyList<PlannedStage> StagesOf(Plan plan, string target)
    {
        var roots = plan.Stages.Where(s => s.Slot.Equals(target, StringComparison.OrdinalIgnoreCase)).Select(s => s.Name).ToList();
        if (roots.Count == 0 && plan.Find(target) is { } one) roots.Add(one.Name);
        if (roots.Count == 0)
            throw new UserError($"unknown target '{target}'; targets are {string.Join(", ", StageCatalog.Slots)}, {Nightly} or a stage name ({string.Join(", ", plan.Stages.Select(s => s.Name))}).");
        var needed = roots.SelectMany(plan.Closure).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        return plan.Stages.Where(s => needed.Contains(s.Name)).ToList();
    }

    /// <summary>Every project under projects/ (a folder with a project.yaml), sorted by name.</summary>
    public static IReadOnlyList<string> Projects(RepoLayout layout) =>
        Directory.Exists(layout.ProjectsDir)
            ? Directory.EnumerateDirectories(layout.ProjectsDir)
                // Hidden folders are not projects (`lorabake new` writes .NAME.new-PID before renaming it into place).
                .Where(d => !Path.GetFileName(d).StartsWith('.') && File.Exists(Path.Combine(d, "project.yaml")))
                .Select(d => Path.GetFileName(d)!)
                .Order(StringComparer.Ordinal).ToList()
            : [];
}
