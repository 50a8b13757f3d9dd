using System.Diagnostics;
using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

/// <summary>ProjectBuilder and `lorabake build --project all`: every project, a failed one does not stop the rest.</summary>
public class NightlyBuildTests
{
    internal const string LocalModel = "model:\n  source: base.safetensors\n";

    /// <summary>A project whose model is a local (empty) safetensors file, so its recipe is valid without any registry.</summary>
    internal static string AddLocalModelProject(PipelineTempRepo repo, string name, string yaml = LocalModel)
    {
        var dir = repo.AddProject(name, yaml);
        var header = "{\"__metadata__\":{}}"u8.ToArray();
        File.WriteAllBytes(Path.Combine(dir, "base.safetensors"), [.. BitConverter.GetBytes((ulong)header.Length), .. header]);
        return dir;
    }

    private const string Broken = "model:\n  source: missing.safetensors\ntraining:\n  unet_lr: fast\n";

    [Fact]
    public void Builds_the_targets_stages_in_order_then_skips_them_when_fresh()
    {
        using var repo = new PipelineTempRepo();
        AddLocalModelProject(repo, "p");
        var (catalog, download, process) = TestCatalog.Create();
        var builder = new ProjectBuilder(repo.Layout, () => catalog);

        var first = builder.Build("p", "Process");
        var second = builder.Build("p", "Process");

        Assert.True(first.Succeeded, first.Error);
        Assert.Equal([("Download", true, "no cached output"), ("Process", true, "no cached output")], first.Stages.Select(s => (s.Stage, s.Ran, s.Reason)));
        Assert.Equal([("Download", false, "up to date"), ("Process", false, "up to date")], second.Stages.Select(s => (s.Stage, s.Ran, s.Reason)));
        Assert.Equal((1, 1), (download.Runs, process.Runs));
    }

    private sealed class ReportStage : IStage
    {
        public string Name => "Evaluate";
        public int SchemaVersion => 1;
        public IReadOnlyList<string> DependsOn => ["Process"];
        public Fingerprint ComputeFingerprint(StageContext c) => new FingerprintBuilder(Name, SchemaVersion).Build();
        public void Run(StageContext c, EntryWriter output) =>
            File.WriteAllText(Path.Combine(output.Directory, "report.txt"), File.ReadAllText(Path.Combine(c.UpstreamDirectory("Process"), "publish", "processed.txt")));
    }

    [Fact]
    public void Nightly_means_Evaluate_when_there_is_an_Evaluate_stage()
    {
        using var repo = new PipelineTempRepo();
        AddLocalModelProject(repo, "p");
        var r = new ProjectBuilder(repo.Layout, () => TestCatalog.Create().Catalog.Register(StageCatalog.Evaluate, _ => [new ReportStage()])).Build("p", ProjectBuilder.Nightly);
        Assert.True(r.Succeeded, r.Error);
        Assert.Equal("Evaluate", r.Target);
        Assert.Equal(["Download", "Process", "Evaluate"], r.Stages.Select(s => s.Stage));
    }

    [Fact]
    public void A_broken_recipe_fails_its_project_only()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("a-broken", Broken);
        AddLocalModelProject(repo, "b-good");
        var builder = new ProjectBuilder(repo.Layout, () => TestCatalog.Create().Catalog);

        var results = ProjectBuilder.Projects(repo.Layout).Select(p => builder.Build(p, "Process")).ToList();

        Assert.Equal(["a-broken", "b-good"], results.Select(r => r.Project));
        Assert.False(results[0].Succeeded);
        Assert.Contains("training.unet_lr", results[0].Error);
        Assert.True(results[1].Succeeded, results[1].Error);
        Assert.True(File.Exists(Path.Combine(repo.Layout.OutputDir("b-good"), "processed.txt")));
    }

    /// <summary>The real program and real stages (two demo images): Process of two projects, one with a broken recipe.</summary>
    [Fact]
    [Trait("Category", "E2E")]
    public void Cli_build_all_goes_on_after_a_failed_project_and_exits_non_zero_naming_it()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("broken", Broken);
        var good = AddLocalModelProject(repo, "good", LocalModel + "training:\n  how_many: 1\n");
        var demo = Path.Combine(repo.Root, "drawn");
        LoraBake.Tests.Data.DemoDataset.Generate(demo); // the 512 px character pictures (projects/demo is the 64 px toy world)
        foreach (var f in new[] { "05_white.png", "05_white.txt", "08_gray.png", "08_gray.txt" })
            File.Copy(Path.Combine(demo, f), Path.Combine(good, "dataset", f));

        var (exit, stdout, stderr) = Lorabake(repo.Root, "build", "--project", "all", "--target", "Process");

        Assert.True(exit == 1, stdout + stderr);
        Assert.Contains("1 of 2 project(s) failed: broken", stderr);
        Assert.Contains("training.unet_lr", stderr);
        Assert.Contains("Process: running (no cached output)", stdout);
        Assert.Equal(["Process"], LockFile.Read(repo.Layout.LockPath("good")).Stages.Select(s => s.Name)); // Process needs no upstream stage
        Assert.True(File.Exists(Path.Combine(repo.Layout.OutputDir("good"), "dataset.json")));
    }

    internal static (int Exit, string Out, string Err) Lorabake(string root, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lorabake.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LORABAKE_ROOT"] = root;
        psi.Environment["CI"] = "1";
        psi.Environment["COLUMNS"] = "400";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
