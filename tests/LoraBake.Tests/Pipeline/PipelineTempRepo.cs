using LoraBake.Runtime;

namespace LoraBake.Tests.Pipeline;

/// <summary>A throw-away repository layout in the temp folder: recipes/, projects/NAME/project.yaml, dataset.</summary>
public sealed class PipelineTempRepo : IDisposable
{
    public string Root { get; }
    public RepoLayout Layout { get; }

    public PipelineTempRepo()
    {
        Root = Path.Combine(Path.GetTempPath(), "lorabake-pipeline-" + Guid.NewGuid().ToString("N")[..12]);
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

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
