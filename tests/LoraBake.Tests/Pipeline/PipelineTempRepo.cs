using LoraBake.Runtime;

namespace LoraBake.Tests.Pipeline;

/// <summary>A throw-away repository layout in the temp folder: recipes/, projects/NAME/project.yaml, dataset.</summary>
public sealed class PipelineTempRepo : IDisposable
{
    readonly TempFolder _folder = new("lorabake-pipeline-");
    public string Root => _folder.Path;
    public RepoLayout Layout { get; }

    public PipelineTempRepo()
    {
        Directory.CreateDirectory(Path.Combine(Root, "recipes"));
        Directory.CreateDirectory(Path.Combine(Root, "projects"));
        Layout = new RepoLayout(Root);
    }

    public string AddProject(string name, string yaml = "model:\n  source: builtin:test\n")
    {
        var dir = Layout.ProjectDir(name);
        Directory.CreateDirectory(Path.Combine(dir, "dataset"));
        File.WriteAllText(Layout.RecipePath(name), yaml);
        return dir;
    }

    public void Dispose() => _folder.Dispose();
}
