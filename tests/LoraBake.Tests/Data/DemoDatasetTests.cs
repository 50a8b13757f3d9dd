using LoraBake.ToyWorld;

namespace LoraBake.Tests.Data;

public class DemoDatasetTests
{
    /// <summary>
    /// The committed projects/demo/dataset must be exactly what <see cref="ToyConcept.WriteDemoDataset"/> makes (the toy
    /// world's "bakechan" pink hearts at 64 px). After changing
    /// the generator, run this test once with LORABAKE_REGENERATE_DEMO=1 to rewrite the committed files.
    /// </summary>
    [Fact]
    public void Demo_dataset_is_deterministic_and_matches_the_committed_files()
    {
        if (Environment.GetEnvironmentVariable("LORABAKE_REGENERATE_DEMO") == "1")
            ToyConcept.WriteDemoDataset(Path.Combine(RepoFolder.Root, "projects", "demo", "dataset"));
        using var dir = new TempFolder("lorabake-demo-");
        var images = ToyConcept.WriteDemoDataset(dir);
        Assert.Equal(12, images.Count);
        long total = 0;
        var committed = Path.Combine(RepoFolder.Root, "projects", "demo", "dataset");
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            total += new FileInfo(file).Length;
            var name = Path.GetFileName(file);
            if (name.EndsWith(".txt", StringComparison.Ordinal))
                Assert.StartsWith(ToyConcept.Trigger + ", ", File.ReadAllText(file));
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(committed, name))),
                $"{name} differs from projects/demo/dataset/{name}: rerun this test with LORABAKE_REGENERATE_DEMO=1 to regenerate");
        }
        Assert.Equal(images.Count * 2, Directory.GetFiles(committed).Length);
        Assert.True(total < 1_000_000, $"demo dataset is {total} bytes");
    }
}
