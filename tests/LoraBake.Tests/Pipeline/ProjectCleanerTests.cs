using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

public class ProjectCleanerTests
{
    [Fact]
    public void Clean_removes_outputs_and_own_entries_but_keeps_what_another_project_uses()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("a");
        repo.AddProject("b");
        var (catalog, _, _) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        var shared = runner.Run("a", TestCatalog.Recipe(), "Download", false);
        var own = runner.Run("a", TestCatalog.Recipe(), "Process", false);
        runner.Run("b", TestCatalog.Recipe(), "Download", false);   // same inputs: the same entry
        File.WriteAllText(Path.Combine(repo.Layout.ProjectDir("a"), "dataset", "1.txt"), "caption");

        var report = ProjectCleaner.Clean(repo.Layout, "a");
        Assert.True(report.OutputRemoved);
        Assert.Equal(["process/" + own.Fingerprint], report.EntriesRemoved);
        Assert.Equal(["entry download/" + shared.Fingerprint], report.Kept);
        Assert.False(Directory.Exists(repo.Layout.OutputDir("a")));
        Assert.NotNull(runner.Store.TryOpenEntry("download", shared.Fingerprint));
        Assert.True(File.Exists(repo.Layout.RecipePath("a")));
        Assert.True(File.Exists(Path.Combine(repo.Layout.ProjectDir("a"), "dataset", "1.txt")));
        Assert.True(File.Exists(repo.Layout.LockPath("a")));
        Assert.Equal("no cached output", new Planner(repo.Layout, runner.Store, catalog).Build("a", TestCatalog.Recipe()).Stages[1].Reason);
    }
}
