using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

public class NightlyLockDiffTests
{
    private static LockFile.StageRecord Stage(string name, Dictionary<string, string> components, Dictionary<string, string> outputs) =>
        new(name, Fingerprint.Of(components).Hash, components, outputs, new Dictionary<string, long>());

    private static Dictionary<string, string> Train(string lr) => new() { ["stage"] = "Train-Epoch-01", ["recipe:training.unet_lr"] = lr, ["upstream:Process"] = "abc" };

    [Fact]
    public void Changed_inputs_and_outputs_added_and_removed_stages_are_named_in_the_planners_words()
    {
        var download = Stage("Download", new() { ["stage"] = "Download" }, new() { ["model.json"] = "11" });
        var before = new LockFile("p", [
            download,
            Stage("Train-Epoch-01", Train("0.001"), new() { ["publish/p-01.safetensors"] = new string('a', 64), ["state.json"] = "s1" }),
            Stage("Train-Epoch-02", new() { ["stage"] = "Train-Epoch-02" }, new() { ["x"] = "1" }),
        ]);
        var after = new LockFile("p", [
            download,
            Stage("Train-Epoch-01", Train("0.0005"), new() { ["publish/p-01.safetensors"] = new string('b', 64), ["loss.csv"] = "l" }),
            Stage("Evaluate", new() { ["stage"] = "Evaluate" }, new() { ["evaluation.json"] = "e" }),
        ]);

        var changes = LockDiff.Compare(before, after);

        Assert.Equal([("Train-Epoch-01", LockChangeKind.Changed), ("Evaluate", LockChangeKind.Added), ("Train-Epoch-02", LockChangeKind.Removed)],
            changes.Select(c => (c.Stage, c.Kind)));
        Assert.Equal([
            "recipe field training.unet_lr changed",
            "output loss.csv added",
            "output publish/p-01.safetensors changed (aaaaaaaaaaaa → bbbbbbbbbbbb)",
            "output state.json removed",
        ], changes[0].Reasons);
        var text = LockDiff.Describe(changes, markdown: true);
        Assert.Contains("- **Train-Epoch-01** changed\n  - recipe field training.unet_lr changed\n", text);
        Assert.DoesNotContain("Download", text);
    }

    [Fact]
    public void Identical_locks_have_no_changes()
    {
        var a = new LockFile("p", [Stage("Download", new() { ["stage"] = "Download" }, new() { ["model.json"] = "11" })]);
        Assert.Empty(LockDiff.Compare(a, a));
        Assert.Equal("no changes\n", LockDiff.Describe([], markdown: false));
    }

    /// <summary>`lorabake lock-diff` against the committed lock of a real git repository.</summary>
    [Fact]
    [Trait("Category", "E2E")]
    public void Cli_lock_diff_compares_the_working_lock_with_git_head()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var lockPath = repo.Layout.LockPath("p");
        new LockFile("p", [Stage("Train-Epoch-01", Train("0.001"), new() { ["a"] = "1" })]).Write(lockPath);
        Git(repo.Root, "init", "-q");
        Git(repo.Root, "add", "-A");
        Git(repo.Root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "lock");
        new LockFile("p", [Stage("Train-Epoch-01", Train("0.002"), new() { ["a"] = "1" })]).Write(lockPath);

        var (exit, stdout, stderr) = NightlyBuildTests.Lorabake(repo.Root, "lock-diff", "--project", "p");

        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("against HEAD", stdout);
        Assert.Contains("Train-Epoch-01: changed\n  recipe field training.unet_lr changed\n", stdout);
        (exit, stdout, stderr) = NightlyBuildTests.Lorabake(repo.Root, "lock-diff", "--project", "p", "--base", "no-such-rev");
        Assert.Equal(1, exit);
        Assert.Contains("no-such-rev", stderr);
    }

    private static void Git(string dir, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)}: {err}");
    }
}
