namespace LoraBake.Tests;

/// <summary>The repository root (the folder with src/ and projects/), found by walking up from the test binaries.</summary>
static class RepoFolder
{
    static readonly Lazy<string> Found = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "projects")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
                return dir.FullName;
        throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    });

    public static string Root => Found.Value;
}
