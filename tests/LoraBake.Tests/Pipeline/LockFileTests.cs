using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

public class LockFileTests
{
    [Fact]
    public void Lock_file_is_deterministic_and_records_fingerprints_components_and_outputs()
    {
        string Build()
        {
            using var repo = new PipelineTempRepo();
            repo.AddProject("p");
            var (catalog, _, _) = TestCatalog.Create();
            var runner = new StageRunner(repo.Layout, catalog);
            runner.Run("p", TestCatalog.Recipe(), "Download", false);
            runner.Run("p", TestCatalog.Recipe(), "Process", false);
            return File.ReadAllText(repo.Layout.LockPath("p"));
        }
        var first = Build();
        Assert.Equal(first, Build());
        var lf = new LockFile("p", []);
        Assert.Contains("\"name\": \"Download\"", first);
        Assert.Contains("\"recipe:model.source\": \"\\\"builtin:test\\\"\"", first);
        Assert.Contains("\"publish/processed.txt\": \"" + Hashing.Sha256Text("builtin:test@512") + "\"", first);
        Assert.True(first.IndexOf("\"Download\"", StringComparison.Ordinal) < first.IndexOf("\"Process\"", StringComparison.Ordinal));
        Assert.DoesNotContain("\r", first);
        Assert.DoesNotContain(DateTime.UtcNow.Year.ToString(System.Globalization.CultureInfo.InvariantCulture) + "-", first);
    }

    [Fact]
    public void Rebuilding_one_stage_changes_only_its_lines()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, _, _) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        runner.Run("p", TestCatalog.Recipe(), "Download", false);
        runner.Run("p", TestCatalog.Recipe(), "Process", false);
        var before = File.ReadAllLines(repo.Layout.LockPath("p"));
        runner.Run("p", TestCatalog.Recipe(resolution: 768), "Process", false);
        var after = File.ReadAllLines(repo.Layout.LockPath("p"));
        Assert.Equal(before.Length, after.Length);
        var changed = before.Zip(after).Where(l => l.First != l.Second).Select(l => l.Second.Trim()).ToList();
        Assert.Equal(3, changed.Count);   // Process: fingerprint, the resolution component, the output hash
        Assert.Contains(changed, l => l.StartsWith("\"recipe:dataset.resolution\": \"768\"", StringComparison.Ordinal));
        var parsed = LockFile.Read(repo.Layout.LockPath("p"));
        Assert.Equal(["Download", "Process"], parsed.Stages.Select(s => s.Name));
        Assert.Equal(string.Join("\n", after) + "\n", parsed.ToText());
    }

    [Fact]
    public void Unreadable_lock_is_a_warning_and_is_rewritten()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        File.WriteAllText(repo.Layout.LockPath("p"), "{ not json");
        var (catalog, _, _) = TestCatalog.Create();
        var plan = new Planner(repo.Layout, new ArtifactStore(repo.Layout.StoreDir), catalog).Build("p", TestCatalog.Recipe());
        Assert.Single(plan.Warnings);
        new StageRunner(repo.Layout, catalog).Run("p", TestCatalog.Recipe(), "Download", false);
        Assert.Equal(["Download"], LockFile.Read(repo.Layout.LockPath("p")).Stages.Select(s => s.Name));
    }
}
