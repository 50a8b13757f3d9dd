namespace LoraBake.Tests.Models.Text;

/// <summary>Finds the shared goldens folder by walking up from the test binaries.</summary>
static class TextTestPaths
{
    static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "goldens");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("shared/goldens not found above " + AppContext.BaseDirectory);
    });

    public static string Goldens => Root.Value;
    public static string TokenizerDir => Path.Combine(Goldens, "tokenizer");
    public static string TinyA => Path.Combine(Goldens, "tiny_a");

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "lorabake-text-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
