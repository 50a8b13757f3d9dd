using LoraBake.Cli;
using LoraBake.Download;
using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Tests.Pipeline;

namespace LoraBake.Tests.Download;

public class DownloadCompanionTests
{
    [Fact]
    public void A_local_checkpoint_brings_its_sidecar_and_tokenizer_into_the_store()
    {
        using var repo = new PipelineTempRepo();
        var project = repo.AddProject("local", "model:\n  source: models/tiny_a_ldm.safetensors\n");
        var models = Directory.CreateDirectory(Path.Combine(project, "models")).FullName;
        var tinyA = Path.Combine(GoldensFolder.Root, "tiny_a");
        File.Copy(Path.Combine(tinyA, "tiny_a_ldm.safetensors"), Path.Combine(models, "tiny_a_ldm.safetensors"));
        File.Copy(Path.Combine(tinyA, "tiny_a_ldm.json"), Path.Combine(models, "tiny_a_ldm.json"));
        Directory.CreateDirectory(Path.Combine(models, "tokenizer"));
        foreach (var f in new[] { "vocab.json", "merges.txt" })
            File.Copy(Path.Combine(GoldensFolder.Root, "tokenizer", f), Path.Combine(models, "tokenizer", f));

        var recipe = RecipeLoader.LoadOrThrow(repo.Layout, "local");
        var runner = new StageRunner(repo.Layout, PipelineStages.CreateCatalog());
        Assert.True(runner.Run("local", recipe, "Download", force: false).Ran);

        var entry = new Planner(repo.Layout, runner.Store, PipelineStages.CreateCatalog()).Build("local", recipe)
            .Find("Download")!.Result!.EntryDirectory!;
        var downloaded = DownloadedModel.Load(entry)!;
        var checkpoint = ModelFiles.Checkpoint(downloaded, entry, runner.Store);
        Assert.NotNull(ModelFiles.Sidecar(entry));
        // Without the sidecar SD1's 12 text heads cannot split tiny_a's width 32: loading proves it travelled.
        using var model = Sd1Model.Load(checkpoint, tokenizerDir: ModelFiles.TokenizerDir(recipe, project, checkpoint, entry),
            sidecarPath: ModelFiles.Sidecar(entry));
        Assert.Equal(4, model.TextEncoder.Config.NumAttentionHeads);
        Assert.Equal(49408, model.Tokenizer.VocabSize);
    }
}
