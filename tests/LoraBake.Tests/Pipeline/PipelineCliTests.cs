using System.Diagnostics;
using System.Text.Json;
using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

/// <summary>The built `lorabake` program run as a separate process against a temp repository (LORABAKE_ROOT).</summary>
public class PipelineCliTests
{
    private static (int Exit, string Out, string Err) Lorabake(string root, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "lorabake.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["LORABAKE_ROOT"] = root;
        psi.Environment["CI"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static void LocalModelProject(PipelineTempRepo repo, string name)
    {
        var dir = repo.AddProject(name, "model:\n  source: base.safetensors\ntraining:\n  how_many: 2\n");
        // plan refuses a dataset with nothing to train on: one small image.
        using (var img = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(64, 64))
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(img, Path.Combine(dir, "dataset", "a.png"));
        var header = "{\"__metadata__\":{}}"u8.ToArray();
        File.WriteAllBytes(Path.Combine(dir, "base.safetensors"), [.. BitConverter.GetBytes((ulong)header.Length), .. header]);
    }

    [Fact]
    [Trait("Category", "E2E")]
    public void Plan_json_lists_stages_then_download_makes_download_fresh()
    {
        using var repo = new PipelineTempRepo();
        LocalModelProject(repo, "p");
        var (exit, json, err) = Lorabake(repo.Root, "plan", "--project", "p", "--json");
        Assert.True(exit == 0, err);
        using (var doc = JsonDocument.Parse(json))
        {
            var stages = doc.RootElement.GetProperty("stages").EnumerateArray().ToList();
            Assert.Equal("p", doc.RootElement.GetProperty("project").GetString());
            var names = stages.Select(s => s.GetProperty("name").GetString()).ToList();
            Assert.Equal(["Download", "Process", "Train-Epoch-01", "Train-Epoch-02"], names.Take(4));
            Assert.Equal("Evaluate", names[^1]);
            Assert.Equal(("stale", "no cached output"), (stages[0].GetProperty("status").GetString(), stages[0].GetProperty("reason").GetString()));
            // Typed fields for build.cake: the slot (the target a stage belongs to), the epoch of a Train-Epoch stage, --force.
            Assert.Equal(["Download", "Process", "Train", "Train"], stages.Take(4).Select(s => s.GetProperty("slot").GetString()));
            Assert.Equal(JsonValueKind.Null, stages[0].GetProperty("epoch").ValueKind);
            Assert.Equal(2, stages[3].GetProperty("epoch").GetInt32());
            Assert.False(stages[0].GetProperty("forced").GetBoolean());
            Assert.Equal(2, doc.RootElement.GetProperty("steps").GetProperty("epochs").GetInt32());
            // mixed_precision auto is shown as what this machine decided (the same value the epoch fingerprint holds).
            var precision = doc.RootElement.GetProperty("mixed_precision");
            Assert.Equal("auto", precision.GetProperty("setting").GetString());
            Assert.Contains(precision.GetProperty("resolved").GetString(), new[] { "fp32", "bf16" });
        }
        Assert.False(Directory.Exists(repo.Layout.StoreDir) && Directory.EnumerateDirectories(repo.Layout.StoreDir).Any(d => Path.GetFileName(d) == "entries"));

        Assert.Equal(0, Lorabake(repo.Root, "download", "--project", "p").Exit);
        (_, json, _) = Lorabake(repo.Root, "plan", "--project", "p", "--json");
        using (var doc = JsonDocument.Parse(json))
            Assert.Equal("fresh", doc.RootElement.GetProperty("stages")[0].GetProperty("status").GetString());
        Assert.True(File.Exists(repo.Layout.LockPath("p")));
    }

    [Fact]
    [Trait("Category", "E2E")]
    public void Recipe_errors_are_all_printed_and_nothing_is_written()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p", "model:\n  source: missing.safetensors\ntraining:\n  unet_lr: fast\n");
        var (exit, _, err) = Lorabake(repo.Root, "plan", "--project", "p");
        Assert.Equal(1, exit);
        Assert.Contains("model.source", err);
        Assert.Contains("training.unet_lr", err);
        Assert.False(Directory.Exists(repo.Layout.StoreDir));
        Assert.False(File.Exists(repo.Layout.LockPath("p")));
    }

    [Fact]
    [Trait("Category", "E2E")]
    public void A_second_build_of_the_project_in_another_process_is_refused()
    {
        using var repo = new PipelineTempRepo();
        LocalModelProject(repo, "p");
        using (BuildLock.Acquire(new ArtifactStore(repo.Layout.StoreDir), "p"))
        {
            var (exit, _, err) = Lorabake(repo.Root, "run-stage", "--project", "p", "--stage", "Download", "--no-wait");
            Assert.Equal(1, exit);
            Assert.Contains($"another build of project p is running (pid {Environment.ProcessId})", err);
        }
        Assert.Equal(0, Lorabake(repo.Root, "run-stage", "--project", "p", "--stage", "Download").Exit);
    }

    [SkippableFact]
    [Trait("Category", "E2E")]
    public void Plan_never_crashes_on_a_dataset_and_refuses_one_with_nothing_to_train_on()
    {
        Skip.If(OperatingSystem.IsWindows(), "needs Unix special files (FIFOs, sockets, devices)");
        using var repo = new PipelineTempRepo();
        LocalModelProject(repo, "p");
        var dataset = Path.Combine(repo.Layout.ProjectDir("p"), "dataset");
        File.CreateSymbolicLink(Path.Combine(dataset, "gone.png"), "nowhere.png");
        File.CreateSymbolicLink(Path.Combine(dataset, "zero.png"), "/dev/zero");
        using (var mk = Process.Start("mkfifo", [Path.Combine(dataset, "pipe.png")])) mk.WaitForExit();
        var (exit, _, err) = Lorabake(repo.Root, "plan", "--project", "p");
        Assert.True(exit == 0, err);

        File.Delete(Path.Combine(dataset, "a.png"));
        (exit, _, err) = Lorabake(repo.Root, "plan", "--project", "p");
        Assert.Equal(1, exit);
        Assert.Contains("has no usable image", err);
        Assert.Contains("gone.png: broken symbolic link", err);

        foreach (var f in Directory.GetFiles(dataset)) File.Delete(f);
        (exit, _, err) = Lorabake(repo.Root, "plan", "--project", "p");
        Assert.Equal(1, exit);
        Assert.Contains("is empty", err);

        Directory.Delete(dataset);
        (exit, _, err) = Lorabake(repo.Root, "plan", "--project", "p");
        Assert.Equal(1, exit);
        Assert.Contains("does not exist", err);
        Assert.DoesNotContain("   at ", err);   // no stack trace
    }

    [Fact]
    [Trait("Category", "E2E")]
    public void A_second_build_waits_for_the_first_with_a_message()
    {
        using var repo = new PipelineTempRepo();
        LocalModelProject(repo, "p");
        var held = BuildLock.Acquire(new ArtifactStore(repo.Layout.StoreDir), "p");
        var second = Task.Run(() => Lorabake(repo.Root, "run-stage", "--project", "p", "--stage", "Download"));
        Thread.Sleep(4000);   // the CLI starts, loads the recipe and finds the lock taken
        Assert.False(second.IsCompleted);
        held.Dispose();
        Assert.True(second.Wait(TimeSpan.FromSeconds(60)));
        var (exit, output, err) = second.Result;
        Assert.True(exit == 0, err);
        Assert.Contains($"waiting for another build of project p (pid {Environment.ProcessId}) to finish", output);
    }

    [Fact]
    [Trait("Category", "E2E")]
    public void A_project_given_as_a_path_is_refused_by_name()
    {
        using var repo = new PipelineTempRepo();
        LocalModelProject(repo, "demo");
        var (exit, _, err) = Lorabake(repo.Root, "run-stage", "--project", "../projects/demo", "--stage", "Download");
        Assert.Equal(1, exit);
        Assert.Contains("project name \"../projects/demo\" is a path; give the project's folder name under projects/ (e.g. \"demo\")", err);
        Assert.DoesNotContain("another build", err);
        Assert.False(Directory.Exists(repo.Layout.StoreDir));
    }

    [Fact]
    [Trait("Category", "E2E")]
    public void Store_verify_exits_1_on_damage_and_store_gc_dry_run_lists_sizes()
    {
        using var repo = new PipelineTempRepo();
        LocalModelProject(repo, "p");
        Assert.Equal(0, Lorabake(repo.Root, "download", "--project", "p").Exit);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var (exit, output, err) = Lorabake(repo.Root, "store", "verify");
        Assert.True(exit == 0, err);
        Assert.Contains("1 blobs and 1 entries checked, 0 damaged", output);

        var blob = Directory.EnumerateFiles(store.ObjectsDir, "*", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(blob);
        bytes[^1] ^= 1;
        File.WriteAllBytes(blob, bytes);
        (exit, output, _) = Lorabake(repo.Root, "store", "verify");
        Assert.Equal(1, exit);
        Assert.Contains($"DAMAGED {Path.GetRelativePath(store.Root, blob)}: content does not hash to its name", output);

        var loose = Path.Combine(repo.Root, "loose.bin");
        File.WriteAllBytes(loose, new byte[2048]);
        var sha = store.PutFile(loose);
        (exit, output, err) = Lorabake(repo.Root, "store", "gc", "--dry-run");
        Assert.True(exit == 0, err);
        Assert.Contains($"would remove objects/{sha[..2]}/{sha} (2.0 KiB)", output);
        Assert.Contains("store gc: would remove 1 entries and blobs", output);
        Assert.True(store.HasBlob(sha));
        Assert.Equal(0, Lorabake(repo.Root, "store", "gc").Exit);
        Assert.False(store.HasBlob(sha));
    }
}
