namespace LoraBake.Tests;

/// <summary>../shared/goldens beside the repository (CI lays it there), found by walking up from the test binaries.</summary>
static class GoldensFolder
{
    static readonly Lazy<string> Found = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "goldens");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("shared/goldens not found above " + AppContext.BaseDirectory);
    });

    public static string Root => Found.Value;
}
