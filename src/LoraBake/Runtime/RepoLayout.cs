namespace LoraBake.Runtime;

/// <summary>
/// Where things live in a LoraBake repository: recipes/, projects/NAME/, the shared content-addressed
/// store .lorabake/ and the user's outputs output/NAME/.
/// </summary>
public sealed record RepoLayout(string Root)
{
    public string RecipesDir => Path.Combine(Root, "recipes");
    public string ProjectsDir => Path.Combine(Root, "projects");
    /// <summary>The store; another folder for a build that must not share it (lorabake verify).</summary>
    public string StoreDir { get; init; } = Path.Combine(Root, ".lorabake");
    public string OutputRoot { get; init; } = Path.Combine(Root, "output");
    /// <summary>When set, lock files live in LocksRoot/NAME/ instead of the project folder (lorabake verify).</summary>
    public string? LocksRoot { get; init; }

    /// <summary>projects/NAME; a name that is not a plain project name (a path, spaces…) is a <see cref="UserError"/>.</summary>
    public string ProjectDir(string project) => Path.Combine(ProjectsDir, ProjectName.Check(project));
    public string RecipePath(string project) => Path.Combine(ProjectDir(project), "project.yaml");
    public string LockPath(string project) =>
        Path.Combine(LocksRoot == null ? ProjectDir(project) : Path.Combine(LocksRoot, ProjectName.Check(project)), "lorabake.lock");
    public string OutputDir(string project) => Path.Combine(OutputRoot, ProjectName.Check(project));

    /// <summary>
    /// The repository root: $LORABAKE_ROOT if set, else the nearest folder at or above <paramref name="start"/>
    /// that has both recipes/ and projects/, else <paramref name="start"/> itself.
    /// </summary>
    public static RepoLayout Discover(string? start = null)
    {
        var env = Environment.GetEnvironmentVariable("LORABAKE_ROOT");
        if (!string.IsNullOrEmpty(env)) return new RepoLayout(Path.GetFullPath(env));
        var dir = new DirectoryInfo(Path.GetFullPath(start ?? Directory.GetCurrentDirectory()));
        for (var d = dir; d != null; d = d.Parent)
        {
            if (Directory.Exists(Path.Combine(d.FullName, "recipes")) && Directory.Exists(Path.Combine(d.FullName, "projects")))
                return new RepoLayout(d.FullName);
        }
        return new RepoLayout(dir.FullName);
    }
}
