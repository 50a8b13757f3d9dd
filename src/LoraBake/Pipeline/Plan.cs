using LoraBake.Recipes;

namespace LoraBake.Pipeline;

public enum StageStatus { Fresh, Stale }

/// <summary>
/// One stage in a plan. <see cref="Reason"/> says why: "up to date", "no cached output",
/// "recipe field model.sha256 changed", "forced", ...
/// </summary>
public sealed record PlannedStage(
    string Name,
    string Slot,
    StageStatus Status,
    string Reason,
    Fingerprint? Fingerprint,
    IReadOnlyList<string> DependsOn,
    IStage Stage,
    StageResult? Result)
{
    /// <summary>Stale because the user asked (--force), whatever the store holds.</summary>
    public bool Forced { get; init; }

    /// <summary>The store kind of this stage's entry: its name in lower case ("train-epoch-01").</summary>
    public string Kind => StageKind(Name);
    public static string StageKind(string name) => name.ToLowerInvariant();
}

/// <summary>What a build of a project would do: every stage in run order with its status.</summary>
public sealed record Plan(string Project, Recipe Recipe, IReadOnlyList<PlannedStage> Stages, IReadOnlyList<string> Warnings)
{
    public PlannedStage? Find(string name) =>
        Stages.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The stage and every stage it needs, transitively, in run order.</summary>
    public IReadOnlyList<PlannedStage> Closure(string name)
    {
        var needed = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string n)
        {
            if (!needed.Add(n)) return;
            foreach (var d in Find(n)?.DependsOn ?? []) Visit(d);
        }
        Visit(Find(name)?.Name ?? name);
        return Stages.Where(s => needed.Contains(s.Name)).ToList();
    }
}
