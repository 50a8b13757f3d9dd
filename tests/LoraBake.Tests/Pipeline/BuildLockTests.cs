using System.Diagnostics;
using LoraBake.Pipeline;
using LoraBake.Runtime;

namespace LoraBake.Tests.Pipeline;

public class BuildLockTests
{
    [Fact]
    public void Second_build_of_the_same_project_is_refused_until_the_first_ends()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        using (BuildLock.Acquire(store, "p"))
        {
            var e = Assert.Throws<UserError>(() => BuildLock.Acquire(store, "p"));
            Assert.Contains($"another build of project p is running (pid {Environment.ProcessId})", e.Message);
            using (BuildLock.Acquire(store, "other")) { }   // other projects are not blocked
        }
        using (BuildLock.Acquire(store, "p")) { }
    }

    [SkippableFact]
    public void Lock_held_by_another_process_blocks_and_is_released_when_that_process_dies()
    {
        Skip.IfNot(File.Exists("/usr/bin/flock"), "/usr/bin/flock is not installed (util-linux)");
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        Directory.CreateDirectory(store.LocksDir);
        var lockPath = Path.Combine(store.LocksDir, "p.lock");
        // flock(1) holds the same kind of OS lock .NET takes for FileShare.None; the process is killed, not ended cleanly.
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["-x", "-o", lockPath, "sleep", "30"]))!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            UserError? refused = null;
            while (refused == null && DateTime.UtcNow < deadline)
            {
                try { BuildLock.Acquire(store, "p").Dispose(); Thread.Sleep(50); }
                catch (UserError e) { refused = e; }
            }
            Assert.NotNull(refused);
            Assert.Contains("another build of project p is running", refused!.Message);
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit();
        }
        using (BuildLock.Acquire(store, "p")) { }
    }

    [Fact]
    public void A_waiting_build_says_so_once_and_takes_the_lock_when_the_first_ends()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var first = BuildLock.Acquire(store, "p");
        var log = new List<string>();
        var releaser = Task.Run(async () => { await Task.Delay(600); first.Dispose(); });
        var watch = Stopwatch.StartNew();
        using (BuildLock.Acquire(store, "p", Timeout.InfiniteTimeSpan, log.Add))
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(500));
        releaser.Wait();
        Assert.Equal([$"waiting for another build of project p (pid {Environment.ProcessId}) to finish; use --no-wait to fail instead"], log);
    }

    [Fact]
    public void A_wait_that_runs_out_names_the_holder()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        using var first = BuildLock.Acquire(store, "p");
        var e = Assert.Throws<UserError>(() => BuildLock.Acquire(store, "p", TimeSpan.FromMilliseconds(300)));
        Assert.Contains($"another build of project p is running (pid {Environment.ProcessId})", e.Message);
        Assert.Contains("(waited 0 s)", e.Message);
    }

    [Fact]
    public void A_stale_lock_left_by_a_dead_process_is_taken_over()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        Directory.CreateDirectory(store.LocksDir);
        File.WriteAllText(Path.Combine(store.LocksDir, "p.lock"), "");
        File.WriteAllText(Path.Combine(store.LocksDir, "p.owner"), "4194305");   // a pid that is not running
        using (BuildLock.Acquire(store, "p"))
            Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                File.ReadAllText(Path.Combine(store.LocksDir, "p.owner")));
    }

    [Fact]
    public void Other_io_errors_are_reported_as_what_they_are_not_as_another_build()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        Directory.CreateDirectory(store.Root);
        File.WriteAllText(store.LocksDir, "a file where the locks folder should be");
        var e = Assert.Throws<UserError>(() => BuildLock.Acquire(store, "p", Timeout.InfiniteTimeSpan));
        Assert.StartsWith($"cannot take the build lock {Path.Combine(store.LocksDir, "p.lock")}: ", e.Message);
        Assert.DoesNotContain("another build", e.Message);
    }

    [Theory]
    [InlineData("../projects/demo", "is a path")]
    [InlineData("demo/../demo", "is a path")]
    [InlineData("..", "is a path")]
    [InlineData("my project", "contains a space")]
    [InlineData("-x", "starts with '-'")]
    public void Every_command_applies_the_project_name_rule_of_new(string name, string problem)
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        foreach (var use in new Func<object>[]
                 {
                     () => repo.Layout.ProjectDir(name), () => repo.Layout.OutputDir(name), () => repo.Layout.LockPath(name),
                     () => BuildLock.Acquire(store, name), () => LoraBake.Recipes.RecipeLoader.Load(repo.Layout, name),
                 })
            Assert.Contains(problem, Assert.Throws<UserError>(use).Message);
        Assert.Equal(LoraBake.Recipes.ProjectScaffold.NameProblem(name), ProjectName.Problem(name));
        Assert.False(Directory.Exists(store.LocksDir));
    }
}
