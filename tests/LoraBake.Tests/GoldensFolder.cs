namespace LoraBake.Tests;

/// <summary>The test suite's one way to the goldens: ../shared/goldens beside the repository (CI lays it there), found by walking up from the test binaries.</summary>
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

    /// <summary>A path under the goldens: <c>GoldensFolder.File("tiny_a", "unet.safetensors")</c>.</summary>
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
}
