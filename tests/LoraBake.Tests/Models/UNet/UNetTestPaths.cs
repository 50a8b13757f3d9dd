namespace LoraBake.Tests.Models.UNet;

/// <summary>Finds shared/goldens by walking up from the test binaries.</summary>
internal static class UNetTestPaths
{
    public static string Goldens
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", "goldens");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException("No shared/goldens above " + AppContext.BaseDirectory);
        }
    }

    public static string TinyA(params string[] parts) => Path.Combine([Goldens, "tiny_a", .. parts]);
}
