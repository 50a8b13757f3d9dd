using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

/// <summary>lorabake verify's core: a scratch rebuild compared with lorabake.lock, real stores and files in a temp repo.</summary>
public class VerifyTests
{
    private static (PipelineTempRepo Repo, string LockText) BuiltProject()
    {
        var repo = new PipelineTempRepo();
        NightlyBuildTests.AddLocalModelProject(repo, "p", NightlyBuildTests.LocalModel + "dataset:\n  resolution: 512\n");
        var result = new ProjectBuilder(repo.Layout, () => TestCatalog.Create().Catalog).Build("p", "Process");
        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(["Download", "Process"], result.Stages.Select(s => s.Stage));
        return (repo, File.ReadAllText(repo.Layout.LockPath("p")));
    }

    private static string[] StoreEntries(PipelineTempRepo repo) =>
        Directory.EnumerateDirectories(Path.Combine(repo.Layout.StoreDir, "entries"), "*", SearchOption.AllDirectories).Order().ToArray();

    [Fact]
    public void A_rebuild_that_matches_the_lock_passes_and_touches_nothing_real()
    {
        var (repo, lockText) = BuiltProject();
        using var _ = repo;
        var entries = StoreEntries(repo);
        var work = Path.Combine(repo.Root, "verify-work");

        var result = new Verifier(repo.Layout, () => TestCatalog.Create().Catalog).Verify("p", work);

        Assert.True(result.Matches, string.Join("\n", result.Differences));
        Assert.Equal(["Download", "Process"], result.CheckedStages);
        Assert.All(result.Build.Stages, s => Assert.True(s.Ran, $"{s.Stage} was not rebuilt from scratch"));
        Assert.Equal(lockText, File.ReadAllText(repo.Layout.LockPath("p")));
        Assert.Equal(entries, StoreEntries(repo));
        Assert.True(File.Exists(Path.Combine(work, "output", "p", "processed.txt")));
    }

    [Fact]
    public void A_tampered_output_hash_in_the_lock_is_reported_with_stage_and_file()
    {
        var (repo, _) = BuiltProject();
        using var _r = repo;
        var lockPath = repo.Layout.LockPath("p");
        var lockFile = LockFile.Read(lockPath);
        var process = lockFile.Find("Process")!;
        var file = process.Outputs.Keys.Single(k => k.EndsWith("processed.txt", StringComparison.Ordinal));
        var real = process.Outputs[file];
        var forged = new string('0', 64);
        var outputs = process.Outputs.ToDictionary(StringComparer.Ordinal);
        outputs[file] = forged;
        lockFile.With(process with { Outputs = outputs }, ["Download", "Process"]).Write(lockPath);

        var result = new Verifier(repo.Layout, () => TestCatalog.Create().Catalog).Verify("p", Path.Combine(repo.Root, "verify-work"));

        Assert.False(result.Matches);
        var d = Assert.Single(result.Differences);
        Assert.Equal(("Process", file, forged, real), (d.Stage, d.File, d.Expected, d.Actual));
    }

    [Fact]
    public void A_recipe_changed_since_the_lock_is_reported_as_a_fingerprint_difference_with_the_reason()
    {
        var (repo, _) = BuiltProject();
        using var _r = repo;
        File.WriteAllText(repo.Layout.RecipePath("p"), NightlyBuildTests.LocalModel + "dataset:\n  resolution: 768\n");

        var result = new Verifier(repo.Layout, () => TestCatalog.Create().Catalog).Verify("p", Path.Combine(repo.Root, "verify-work"));

        var fp = Assert.Single(result.Differences, d => d.File == "(fingerprint)");
        Assert.Equal("Process", fp.Stage);
        Assert.Contains("recipe field dataset.resolution changed", fp.Actual);
        Assert.Contains(result.Differences, d => d.Stage == "Process" && d.File.EndsWith("processed.txt", StringComparison.Ordinal));
    }

    [Fact]
    public void Only_the_named_stages_are_checked_and_only_what_they_need_is_built()
    {
        var (repo, _) = BuiltProject();
        using var _r = repo;
        var lockPath = repo.Layout.LockPath("p");
        var lockFile = LockFile.Read(lockPath);
        var process = lockFile.Find("Process")!;
        lockFile.With(process with { Outputs = process.Outputs.ToDictionary(o => o.Key, _ => new string('0', 64)) }, ["Download", "Process"]).Write(lockPath);
        var verifier = new Verifier(repo.Layout, () => TestCatalog.Create().Catalog);

        var download = verifier.Verify("p", Path.Combine(repo.Root, "w1"), only: ["Download"]);

        Assert.True(download.Matches, string.Join("\n", download.Differences));
        Assert.Equal(["Download"], download.CheckedStages);
        Assert.Equal(["Download"], download.Build.Stages.Select(s => s.Stage));
        Assert.False(verifier.Verify("p", Path.Combine(repo.Root, "w2"), only: ["Process"]).Matches);
        Assert.Contains("no stage Train-Epoch-01", Assert.Throws<LoraBake.Runtime.UserError>(() =>
            verifier.Verify("p", Path.Combine(repo.Root, "w3"), only: ["Train-Epoch-01"])).Message);
    }

    [Fact]
    public void A_project_without_a_lock_is_a_user_error()
    {
        using var repo = new PipelineTempRepo();
        NightlyBuildTests.AddLocalModelProject(repo, "p");
        var e = Assert.Throws<LoraBake.Runtime.UserError>(() =>
            new Verifier(repo.Layout, () => TestCatalog.Create().Catalog).Verify("p", Path.Combine(repo.Root, "w")));
        Assert.Contains("lorabake.lock", e.Message);
    }

    /// <summary>The real program and the real Process stage: verify passes, then fails naming the tampered file.</summary>
    [Fact]
    [Trait("Category", "E2E")]
    public void Cli_verify_passes_on_a_fresh_lock_and_fails_on_a_tampered_one()
    {
        using var repo = new PipelineTempRepo();
        var dir = repo.AddProject("p", "model:\n  source: builtin:tiny-sd1\ntraining:\n  how_many: 1\n");
        var demo = Path.Combine(repo.Root, "drawn");
        LoraBake.Tests.Data.DemoDataset.Generate(demo); // the 512 px character pictures (projects/demo is the 64 px toy world)
        foreach (var f in new[] { "05_white.png", "05_white.txt" }) File.Copy(Path.Combine(demo, f), Path.Combine(dir, "dataset", f));
        Assert.Equal(0, NightlyBuildTests.Lorabake(repo.Root, "build", "--project", "p", "--target", "Process").Exit);
        var lockPath = repo.Layout.LockPath("p");
        var lockText = File.ReadAllText(lockPath);

        var (exit, stdout, stderr) = NightlyBuildTests.Lorabake(repo.Root, "verify", "--project", "p");
        Assert.True(exit == 0, stdout + stderr);
        Assert.Contains("verified: identical: 1 stage(s)", stdout);
        Assert.Equal(lockText, File.ReadAllText(lockPath));

        var process = LockFile.Read(lockPath).Find("Process")!;
        var file = process.Outputs.Keys.Order(StringComparer.Ordinal).First();
        File.WriteAllText(lockPath, lockText.Replace(process.Outputs[file], new string('f', 64)));
        (exit, stdout, stderr) = NightlyBuildTests.Lorabake(repo.Root, "verify", "--project", "p");
        Assert.True(exit == 1, stdout + stderr);
        Assert.Contains("verify failed: 1 difference(s)", stderr);
        Assert.Contains(file, stdout);
        Assert.Contains("ffffffff", stdout);
    }
}
