namespace LoraBake.Tests.Models.Text;

/// <summary>Finds the shared goldens folder by walking up from the test binaries.</summary>
static class TextTestPaths
{

    public static string Goldens => GoldensFolder.Root;
    public static string TokenizerDir => Path.Combine(Goldens, "tokenizer");
    public static string TinyA => Path.Combine(Goldens, "tiny_a");

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "lorabake-text-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
