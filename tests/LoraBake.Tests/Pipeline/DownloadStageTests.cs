using System.Text;
using LoraBake.Pipeline;
using LoraBake.Pipeline.Download;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Tests.Pipeline;

public class DownloadStageTests
{
    private static readonly StageCatalog Catalog = new StageCatalog().Register(StageCatalog.Download, _ => [new DownloadStage()]);

    private static byte[] Safetensors(int dataBytes, int seed = 7)
    {
        var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"U8\",\"shape\":[" + dataBytes + "],\"data_offsets\":[0," + dataBytes + "]}}");
        var data = new byte[dataBytes];
        new Random(seed).NextBytes(data);
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data];
    }

    private static Recipe RecipeFor(PipelineTempRepo repo, string project, string source, string? sha = null) => new()
    {
        Name = project,
        SourcePath = repo.Layout.RecipePath(project),
        Model = new ModelSettings { Source = source, Sha256 = sha },
    };

    [Fact]
    public void Url_model_is_downloaded_once_recorded_and_shared_by_a_second_project()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var bytes = Safetensors(50_000);
        var sha = Hashing.Sha256(bytes);
        server.Serve("m/model.safetensors", bytes);
        repo.AddProject("a");
        repo.AddProject("b");
        var runner = new StageRunner(repo.Layout, Catalog);
        var url = server.Url("m/model.safetensors");

        var first = runner.Run("a", RecipeFor(repo, "a", url, sha), "Download", false);
        Assert.True(first.Ran);
        var model = DownloadedModel.Load(runner.Store.EntryPath("download", first.Fingerprint))!;
        Assert.Equal((sha, 50_000L + bytes.Length - 50_000, "safetensors", "url", "model.safetensors", url),
            (model.Sha256, model.Size, model.Type, model.Kind, model.FileName, model.Location));
        Assert.Equal(bytes, File.ReadAllBytes(model.Path(runner.Store.EntryPath("download", first.Fingerprint), runner.Store)));

        var second = runner.Run("b", RecipeFor(repo, "b", url, sha), "Download", false);
        Assert.False(second.Ran);
        Assert.Equal(1, server.Requests);
        Assert.Single(Directory.EnumerateFiles(runner.Store.ObjectsDir, "*", SearchOption.AllDirectories));
        Assert.Equal(bytes.Length, LockFile.Read(repo.Layout.LockPath("b")).Stages[0].Blobs[sha]);
    }

    [Fact]
    public void Setting_or_changing_sha256_makes_download_stale_and_a_mismatch_is_refused()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var bytes = Safetensors(10_000);
        server.Serve("model.safetensors", bytes);
        repo.AddProject("a");
        var runner = new StageRunner(repo.Layout, Catalog);
        var url = server.Url("model.safetensors");
        runner.Run("a", RecipeFor(repo, "a", url), "Download", false);

        var wrong = new string('0', 64);
        var plan = new Planner(repo.Layout, runner.Store, Catalog).Build("a", RecipeFor(repo, "a", url, wrong));
        Assert.Equal("recipe field model.sha256 changed", plan.Stages[0].Reason);

        var lockBefore = File.ReadAllText(repo.Layout.LockPath("a"));
        var e = Assert.Throws<UserError>(() => runner.Run("a", RecipeFor(repo, "a", url, wrong), "Download", false));
        Assert.StartsWith("model.source in projects/a/project.yaml: the file downloaded from", e.Message);
        Assert.Contains(wrong, e.Message);
        Assert.Contains(Hashing.Sha256(bytes), e.Message);
        Assert.Contains("projects/a/project.yaml", e.Message);
        Assert.Equal(lockBefore, File.ReadAllText(repo.Layout.LockPath("a")));   // nothing built is lost
        Assert.Equal(StageStatus.Fresh, new Planner(repo.Layout, runner.Store, Catalog).Build("a", RecipeFor(repo, "a", url)).Stages[0].Status);
    }

    [Fact]
    public void Html_page_instead_of_a_model_is_refused_with_a_hint()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        server.Serve("model.safetensors", Encoding.UTF8.GetBytes("<!DOCTYPE html><html><body>Please log in</body></html>"));
        repo.AddProject("a");
        var runner = new StageRunner(repo.Layout, Catalog);
        var e = Assert.Throws<UserError>(() => runner.Run("a", RecipeFor(repo, "a", server.Url("model.safetensors")), "Download", false));
        Assert.Contains("is not a model file: it is an HTML page", e.Message);
        Assert.Empty(Directory.EnumerateFiles(runner.Store.ObjectsDir, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Local_checkpoint_is_stored_by_content_with_its_type_and_a_content_change_is_stale()
    {
        using var repo = new PipelineTempRepo();
        var dir = repo.AddProject("a");
        var ckpt = Path.Combine(dir, "base.ckpt");
        File.WriteAllBytes(ckpt, [.. "PK\x03\x04"u8, .. new byte[100]]);
        var runner = new StageRunner(repo.Layout, Catalog);
        var r = runner.Run("a", RecipeFor(repo, "a", "base.ckpt"), "Download", false);
        var model = DownloadedModel.Load(runner.Store.EntryPath("download", r.Fingerprint))!;
        Assert.Equal(("ckpt-zip", "local", Hashing.Sha256File(ckpt)), (model.Type, model.Kind, model.Sha256));

        File.WriteAllBytes(ckpt, [0x80, 0x02, .. new byte[200]]);
        var plan = new Planner(repo.Layout, runner.Store, Catalog).Build("a", RecipeFor(repo, "a", "base.ckpt"));
        Assert.Equal("input model.file changed", plan.Stages[0].Reason);
        r = runner.Run("a", RecipeFor(repo, "a", "base.ckpt"), "Download", false);
        Assert.Equal("ckpt-pickle", DownloadedModel.Load(runner.Store.EntryPath("download", r.Fingerprint))!.Type);
    }

    [Fact]
    public void Vae_is_fetched_like_the_model_and_verified()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var model = Safetensors(2000, seed: 1);
        var vae = Safetensors(1000, seed: 2);
        server.Serve("model.safetensors", model);
        server.Serve("vae.safetensors", vae);
        repo.AddProject("a");
        var runner = new StageRunner(repo.Layout, Catalog);
        var recipe = RecipeFor(repo, "a", server.Url("model.safetensors")) with
        {
            Model = new ModelSettings { Source = server.Url("model.safetensors"), Vae = server.Url("vae.safetensors"), VaeSha256 = Hashing.Sha256(vae) },
        };
        var r = runner.Run("a", recipe, "Download", false);
        var entry = runner.Store.EntryPath("download", r.Fingerprint);
        var v = DownloadedModel.Load(entry, "vae")!;
        Assert.Equal(("vae", Hashing.Sha256(vae), "safetensors"), (v.Role, v.Sha256, v.Type));
        Assert.Equal(2, LockFile.Read(repo.Layout.LockPath("a")).Stages[0].Blobs.Count);

        var wrongVae = recipe with { Model = recipe.Model with { VaeSha256 = new string('f', 64) } };
        Assert.Equal("recipe field model.vae_sha256 changed", new Planner(repo.Layout, runner.Store, Catalog).Build("a", wrongVae).Stages[0].Reason);
        var e = Assert.Throws<UserError>(() => runner.Run("a", wrongVae, "Download", false));
        Assert.StartsWith("model.vae in projects/a/project.yaml", e.Message);
    }

    [Fact]
    public void Builtin_models_come_from_a_registered_generator()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("a");
        var runner = new StageRunner(repo.Layout, Catalog);
        var e = Assert.Throws<UserError>(() => runner.Run("a", RecipeFor(repo, "a", "builtin:no-such-model"), "Download", false));
        Assert.Contains("builtin:no-such-model is not available in this build", e.Message);

        var bytes = Safetensors(1000, seed: 3);
        BuiltinModels.Register("test-one-file", dir => File.WriteAllBytes(Path.Combine(dir, "tiny.safetensors"), bytes));
        var r = runner.Run("a", RecipeFor(repo, "a", "builtin:test-one-file"), "Download", false);
        var entry = runner.Store.EntryPath("download", r.Fingerprint);
        var model = DownloadedModel.Load(entry)!;
        Assert.Equal(("builtin", "safetensors", Hashing.Sha256(bytes)), (model.Kind, model.Type, model.Sha256));
        Assert.Equal(bytes, File.ReadAllBytes(model.Path(entry, runner.Store)));

        BuiltinModels.Register("test-folder", dir =>
        {
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{}");
            File.WriteAllBytes(Path.Combine(dir, "unet.safetensors"), bytes);
        });
        r = runner.Run("a", RecipeFor(repo, "a", "builtin:test-folder"), "Download", false);
        entry = runner.Store.EntryPath("download", r.Fingerprint);
        model = DownloadedModel.Load(entry)!;
        Assert.Equal("directory", model.Type);
        Assert.True(File.Exists(Path.Combine(model.Path(entry, runner.Store), "vocab.json")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(runner.Store.TempDir));

        BuiltinModels.Register("test-folder", dir => File.WriteAllText(Path.Combine(dir, "x"), "y"), version: 2);
        Assert.Equal("input model.builtin changed",
            new Planner(repo.Layout, runner.Store, Catalog).Build("a", RecipeFor(repo, "a", "builtin:test-folder")).Stages[0].Reason);
    }
}
