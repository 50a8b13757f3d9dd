namespace LoraBake.Tests.Models;

/// <summary>Finds the shared goldens (the folder that has `shared/goldens` beside it, walking up from the test binary).</summary>
static class ModelsTestPaths
{

    public static string Goldens(params string[] parts) => Path.Combine(new[] { GoldensFolder.Root }.Concat(parts).ToArray());
    public static string TinyA(params string[] parts) => Goldens(new[] { "tiny_a" }.Concat(parts).ToArray());

    /// <summary>A fresh empty folder under the system temp dir, deleted by Dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lorabake-models-" + Guid.NewGuid().ToString("N"));
        public TempDir() => Directory.CreateDirectory(Path);
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
    }
}
