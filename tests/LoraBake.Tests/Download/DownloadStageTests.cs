using System.Text;
using LoraBake.Download;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.Tests.Pipeline;

namespace LoraBake.Tests.Download;

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
        // The smallest torch.save zip: archive/data.pkl holding an empty dict (PROTO 2, EMPTY_DICT, BINPUT 0, STOP).
        using (var zip = System.IO.Compression.ZipFile.Open(ckpt, System.IO.Compression.ZipArchiveMode.Create))
        using (var pkl = zip.CreateEntry("archive/data.pkl").Open())
            pkl.Write([0x80, 0x02, (byte)'}', (byte)'q', 0x00, (byte)'.']);
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

    /// <summary>A safetensors file with one tiny U8 tensor per key (enough for the family to show).</summary>
    private static byte[] SafetensorsWithKeys(params string[] keys)
    {
        var header = Encoding.UTF8.GetBytes("{" + string.Join(",", keys.Select((k, i) =>
            $"\"{k}\":{{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[{i},{i + 1}]}}")) + "}");
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[keys.Length]];
    }

    [Theory]
    [InlineData("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", "an SDXL checkpoint")]
    [InlineData("cond_stage_model.model.token_embedding.weight", "an SD 2.x checkpoint")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "a LoRA network file")]
    public void Download_refuses_another_model_family_naming_the_source_the_recipe_wrote(string key, string family)
    {
        using var repo = new PipelineTempRepo();
        var dir = repo.AddProject("a");
        File.WriteAllBytes(Path.Combine(dir, "other.safetensors"), SafetensorsWithKeys(key, "model.diffusion_model.x"));
        var runner = new StageRunner(repo.Layout, Catalog);
        var e = Assert.Throws<UserError>(() => runner.Run("a", RecipeFor(repo, "a", "other.safetensors"), "Download", false));
        Assert.StartsWith("model.source in projects/a/project.yaml: other.safetensors is " + family, e.Message);
        Assert.DoesNotContain(runner.Store.ObjectsDir, e.Message);   // the user's file, not the store's copy
        Assert.Null(LockFile.Read(repo.Layout.LockPath("a")).Find("Download"));
    }

    [Theory]
    [InlineData("zip")]
    [InlineData("overlap")]
    public void Download_refuses_a_malformed_model_file_naming_the_source(string kind)
    {
        using var repo = new PipelineTempRepo();
        var dir = repo.AddProject("a");
        byte[] bytes = kind == "zip"
            ? [0x50, 0x4b, 0x03, 0x04, .. Encoding.ASCII.GetBytes(new string('x', 200))]
            : SafetensorsOverlapping();
        File.WriteAllBytes(Path.Combine(dir, "broken.ckpt"), bytes);
        var runner = new StageRunner(repo.Layout, Catalog);
        var e = Assert.Throws<UserError>(() => runner.Run("a", RecipeFor(repo, "a", "broken.ckpt"), "Download", false));
        Assert.StartsWith("model.source in projects/a/project.yaml: broken.ckpt: ", e.Message);
        Assert.Contains(kind == "zip" ? "not a valid one" : "overlaps", e.Message);
    }

    static byte[] SafetensorsOverlapping()
    {
        var header = Encoding.UTF8.GetBytes("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}");
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[6]];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_downloaded_model_damaged_in_the_store_is_fetched_again_not_used(bool pinned)
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var bytes = Safetensors(20_000);
        var sha = Hashing.Sha256(bytes);
        server.Serve("m.safetensors", bytes);
        repo.AddProject("a");
        var runner = new StageRunner(repo.Layout, Catalog);
        var recipe = RecipeFor(repo, "a", server.Url("m.safetensors"), pinned ? sha : null);
        runner.Run("a", recipe, "Download", false);
        var blob = runner.Store.BlobPath(sha);
        var damaged = bytes.ToArray();
        damaged[15_000] ^= 0x01;   // same size: only the content hash can tell
        File.WriteAllBytes(blob, damaged);

        var log = new List<string>();
        Assert.True(runner.Run("a", recipe, "Download", false, log.Add).Ran);
        Assert.Equal(2, server.Requests);
        Assert.Equal(bytes, File.ReadAllBytes(blob));
        Assert.Contains(log, l => l.Contains($"blob objects/{sha[..2]}/{sha} does not match its recorded SHA-256", StringComparison.Ordinal));
    }
}
