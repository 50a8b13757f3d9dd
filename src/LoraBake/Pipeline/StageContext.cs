using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>What a stage may read: the repository, the project's recipe, the store, and its upstream stages.</summary>
public sealed class StageContext
{
    public required RepoLayout Layout { get; init; }
    public required Recipe Recipe { get; init; }
    public required string Project { get; init; }
    public required ArtifactStore Store { get; init; }
    /// <summary>Each upstream stage (by name): its fingerprint, and while running, its committed entry.</summary>
    public IReadOnlyDictionary<string, StageResult> Upstream { get; init; } = new Dictionary<string, StageResult>();
    /// <summary>Progress and notes for the user (the console in the CLI; a no-op in tests).</summary>
    public Action<string> Log { get; init; } = _ => { };

    public string ProjectDir => Layout.ProjectDir(Project);

    /// <summary>The committed entry folder of an upstream stage; only valid inside <see cref="IStage.Run"/>.</summary>
    public string UpstreamDirectory(string stage) =>
        Upstream.TryGetValue(stage, out var r) && r.EntryDirectory != null
            ? r.EntryDirectory
            : throw new InvalidOperationException($"upstream stage {stage} has no committed output");
}

/// <summary>
/// A stage as the planner and runner see it: its fingerprint and, when its entry is in the store and verifies,
/// the entry folder and its files (relative path → SHA-256).
/// </summary>
public sealed record StageResult(Fingerprint Fingerprint, string? EntryDirectory, IReadOnlyDictionary<string, string> Files)
{
    public bool IsBuilt => EntryDirectory != null;
}
