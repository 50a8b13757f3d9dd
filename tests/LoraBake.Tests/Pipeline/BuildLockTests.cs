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

    [Fact]
    public void Lock_held_by_another_process_blocks_and_is_released_when_that_process_dies()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        Directory.CreateDirectory(store.LocksDir);
        var lockPath = Path.Combine(store.LocksDir, "p.lock");
        // flock(1) holds the same kind of OS lock .NET takes for FileShare.None; the process is killed, not ended cleanly.
        if (!File.Exists("/usr/bin/flock")) return;
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
}
