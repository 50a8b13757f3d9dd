using LoraBake.Pipeline;
using LoraBake.Runtime;

namespace LoraBake.Tests.Pipeline;

public class PlannerTests
{
    [Fact]
    public void Plan_lists_the_registered_stages_in_order_and_writes_nothing()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, _, _) = TestCatalog.Create();
        var plan = new Planner(repo.Layout, new ArtifactStore(repo.Layout.StoreDir), catalog).Build("p", TestCatalog.Recipe(epochs: 3));
        Assert.Equal(["Download", "Process"], plan.Stages.Select(s => s.Name));
        Assert.Equal([StageStatus.Stale, StageStatus.Stale], plan.Stages.Select(s => s.Status));
        Assert.Equal("no cached output", plan.Stages[0].Reason);
        Assert.Equal(["Download", "Process"], plan.Closure("Process").Select(s => s.Name));
        Assert.Empty(repo.Layout.StoreDir is var s && Directory.Exists(s) ? Directory.EnumerateFileSystemEntries(s) : []);
    }

    [Fact]
    public void Fingerprints_chain_so_an_upstream_change_makes_downstream_stale_with_the_reason()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, download, process) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        runner.Run("p", TestCatalog.Recipe(), "Download", force: false);
        runner.Run("p", TestCatalog.Recipe(), "Process", force: false);
        Assert.Equal("builtin:test@512", File.ReadAllText(Path.Combine(repo.Layout.OutputDir("p"), "processed.txt")));

        var planner = new Planner(repo.Layout, runner.Store, catalog);
        var fresh = planner.Build("p", TestCatalog.Recipe());
        Assert.All(fresh.Stages.Take(2), s => Assert.Equal(StageStatus.Fresh, s.Status));
        Assert.Equal("up to date", fresh.Stages[1].Reason);

        var changed = planner.Build("p", TestCatalog.Recipe(source: "builtin:other"));
        Assert.Equal("recipe field model.source changed", changed.Stages[0].Reason);
        Assert.Equal("upstream stage Download changed", changed.Stages[1].Reason);
        Assert.NotEqual(fresh.Stages[1].Fingerprint!.Hash, changed.Stages[1].Fingerprint!.Hash);

        var resolution = planner.Build("p", TestCatalog.Recipe(resolution: 768));
        Assert.Equal(StageStatus.Fresh, resolution.Stages[0].Status);
        Assert.Equal("recipe field dataset.resolution changed", resolution.Stages[1].Reason);

        var forced = planner.Build("p", TestCatalog.Recipe(), ["process"]);
        Assert.Equal((StageStatus.Fresh, StageStatus.Stale, "forced"), (forced.Stages[0].Status, forced.Stages[1].Status, forced.Stages[1].Reason));
        Assert.Equal((false, true), (forced.Stages[0].Forced, forced.Stages[1].Forced));
        var unknown = planner.Build("p", TestCatalog.Recipe(), ["Bake"]);
        Assert.Contains("--force=Bake: no stage of that name", unknown.Warnings.Single());
        Assert.All(planner.Build("p", TestCatalog.Recipe(), ["all"]).Stages.Take(2), s => Assert.Equal("forced", s.Reason));
        Assert.Equal((1, 1), (download.Runs, process.Runs));
    }

    [Fact]
    public void Rerun_of_a_fresh_stage_does_no_work_and_a_reverted_change_reuses_the_cache()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, download, _) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        Assert.True(runner.Run("p", TestCatalog.Recipe(), "Download", false).Ran);
        Assert.False(runner.Run("p", TestCatalog.Recipe(), "Download", false).Ran);
        Assert.True(runner.Run("p", TestCatalog.Recipe(source: "x"), "Download", false).Ran);
        Assert.False(runner.Run("p", TestCatalog.Recipe(), "Download", false).Ran);   // back to the first source: cached
        Assert.True(runner.Run("p", TestCatalog.Recipe(), "Download", true).Ran);
        Assert.Equal(3, download.Runs);
    }

    [Fact]
    public void Corrupt_or_missing_cache_is_stale_not_an_error()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, _, process) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        runner.Run("p", TestCatalog.Recipe(), "Download", false);
        var outcome = runner.Run("p", TestCatalog.Recipe(), "Process", false);
        var entry = runner.Store.EntryPath("process", outcome.Fingerprint);
        File.WriteAllText(Path.Combine(entry, "publish", "processed.txt"), "garbage that is longer");
        var planner = new Planner(repo.Layout, runner.Store, catalog);
        Assert.Equal("cached output damaged: publish/processed.txt has 22 bytes, 16 recorded; rebuilding it", planner.Build("p", TestCatalog.Recipe()).Stages[1].Reason);
        runner.Run("p", TestCatalog.Recipe(), "Process", false);
        Assert.Equal(2, process.Runs);
        Assert.Equal(StageStatus.Fresh, planner.Build("p", TestCatalog.Recipe()).Stages[1].Status);

        runner.Store.DeleteEntry("process", outcome.Fingerprint);
        Assert.Equal("no cached output", planner.Build("p", TestCatalog.Recipe()).Stages[1].Reason);
    }

    [Fact]
    public void Deleted_output_file_is_restored_from_the_cache_without_rerunning()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, _, process) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        runner.Run("p", TestCatalog.Recipe(), "Download", false);
        runner.Run("p", TestCatalog.Recipe(), "Process", false);
        var output = Path.Combine(repo.Layout.OutputDir("p"), "processed.txt");
        File.Delete(output);
        var plan = new Planner(repo.Layout, runner.Store, catalog).Build("p", TestCatalog.Recipe());
        Assert.Equal(StageStatus.Stale, plan.Stages[1].Status);
        Assert.StartsWith("output p/processed.txt missing", plan.Stages[1].Reason);
        var outcome = runner.Run("p", TestCatalog.Recipe(), "Process", false);
        Assert.False(outcome.Ran);
        Assert.Equal(["processed.txt"], outcome.Materialized);
        Assert.Equal(1, process.Runs);
        Assert.True(File.Exists(output));
    }

    [Fact]
    public void Running_a_stage_whose_upstream_is_not_built_or_that_does_not_exist_is_a_user_error()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var (catalog, _, _) = TestCatalog.Create();
        var runner = new StageRunner(repo.Layout, catalog);
        var e = Assert.Throws<UserError>(() => runner.Run("p", TestCatalog.Recipe(), "Process", false));
        Assert.Contains("needs Download, which is not built (no cached output)", e.Message);
        var n = Assert.Throws<UserError>(() => runner.Run("p", TestCatalog.Recipe(), "Bake", false));
        Assert.Contains("has no stage 'Bake'", n.Message);
    }
}
