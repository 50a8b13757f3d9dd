using LoraBake.Data;

namespace LoraBake.Tests.Data;

public class DemoDatasetTests
{
    /// <summary>
    /// The committed projects/demo/dataset must be exactly what <see cref="DemoDataset.Generate"/> makes. After changing
    /// the generator, run this test once with LORABAKE_REGENERATE_DEMO=1 to rewrite the committed files.
    /// </summary>
    [Fact]
    public void Demo_dataset_is_deterministic_and_matches_the_committed_files()
    {
        if (Environment.GetEnvironmentVariable("LORABAKE_REGENERATE_DEMO") == "1")
            DemoDataset.Generate(Path.Combine(RepoFolder.Root, "projects", "demo", "dataset"));
        using var dir = new TempFolder("lorabake-demo-");
        var images = DemoDataset.Generate(dir);
        Assert.Equal(12, images.Count);
        long total = 0;
        var committed = Path.Combine(RepoFolder.Root, "projects", "demo", "dataset");
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            total += new FileInfo(file).Length;
            var name = Path.GetFileName(file);
            if (name.EndsWith(".txt", StringComparison.Ordinal))
                Assert.StartsWith(DemoDataset.TriggerWord + ", ", File.ReadAllText(file));
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(committed, name))),
                $"{name} differs from projects/demo/dataset/{name}: rerun this test with LORABAKE_REGENERATE_DEMO=1 to regenerate");
        }
        Assert.True(total < 1_000_000, $"demo dataset is {total} bytes");
    }
}
