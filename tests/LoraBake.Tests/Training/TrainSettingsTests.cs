using LoraBake.Models.Checkpoints;
using LoraBake.Pipeline;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>Training settings that were accepted but did something else, each trained for real on the tiny model.</summary>
[Collection(LoraBake.Tests.Numerics.RouteCollection.Name)]
public class TrainSettingsTests
{
    static double MaxUp(string file)
    {
        var f = SafetensorsFile.Open(file);
        return f.Keys.Where(k => k.EndsWith(".lora_up.weight", StringComparison.Ordinal))
            .Max(k => (double)f.Load(k).to(ScalarType.Float32).abs().max().item<float>());
    }

    static double[] Losses(TrainProject p) =>
        File.ReadAllLines(p.Output("loss.csv")).Skip(1).Select(l => double.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    [Fact, Trait("Category", "E2E")]
    public void Max_grad_norm_0_trains_without_clipping()
    {
        // kohya skips clipping at 0; clip_grad_norm_(params, 0) zeroed every gradient and left lora_up at its zero init.
        using var project = new TrainProject("  max_grad_norm: 0", epochs: 1, repeats: 1);
        project.RunAll(1);
        Assert.True(MaxUp(project.Output("t-01.safetensors")) > 0, "lora_up weights moved from zero");
    }

    static void WriteCaptions(TrainProject p, string caption)
    {
        foreach (var txt in Directory.GetFiles(Path.Combine(p.Layout.ProjectDir(TrainProject.Name), "dataset"), "*.txt"))
            File.WriteAllText(txt, caption);
    }

    [Fact, Trait("Category", "E2E")]
    public void Weighted_captions_train_the_webui_weights()
    {
        using var plain = new TrainProject("  weighted_captions: false", epochs: 1, repeats: 1);
        WriteCaptions(plain, "bakechan, red hair, smile");
        plain.RunAll(1);
        // (red hair:1.0) weighs as plain text: the same context, so the same losses. The weighted encoder is another
        // code path (it rescales by the mean ratio, 1 up to rounding), so equal within float32 rounding, not bitwise.
        using var unit = new TrainProject("  weighted_captions: true", epochs: 1, repeats: 1);
        WriteCaptions(unit, "bakechan, (red hair:1.0), smile");
        unit.RunAll(1);
        FloatAssert.Close(Losses(plain), Losses(unit), rtol: 1e-4, atol: 1e-6, "losses with (red hair:1.0)");
        // (red hair:1.5) scales those tokens' hidden states: the UNet sees another context.
        using var weighted = new TrainProject("  weighted_captions: true", epochs: 1, repeats: 1);
        WriteCaptions(weighted, "bakechan, (red hair:1.5), smile");
        weighted.RunAll(1);
        Assert.NotEqual(Losses(plain)[0], Losses(weighted)[0]);
    }

    [Fact, Trait("Category", "E2E")]
    public void Continue_from_lora_opens_the_file_in_the_project_folder_and_its_content_keys_the_epoch()
    {
        using var first = new TrainProject(epochs: 2, repeats: 1);
        first.RunAll(2);
        using var next = new TrainProject("  continue_from_lora: start.safetensors", epochs: 1, repeats: 1);
        var start = Path.Combine(next.Layout.ProjectDir(TrainProject.Name), "start.safetensors");
        File.Copy(first.Output("t-01.safetensors"), start);
        next.Run("Download");
        next.Run("Process");
        // The working directory is the test's, not the project folder: the file is found by the project.
        Assert.NotEqual(Path.GetFullPath(Directory.GetCurrentDirectory()), Path.GetFullPath(next.Layout.ProjectDir(TrainProject.Name)));
        Assert.True(next.Run("Train-Epoch-01").Ran);
        Assert.False(next.Run("Train-Epoch-01").Ran);
        // Same name, other content: the epoch trains again instead of a stale cache hit.
        File.Copy(first.Output("t-02.safetensors"), start, overwrite: true);
        Assert.True(next.Run("Train-Epoch-01").Ran);
        next.Run(LoraBake.Training.TrainExportStage.StageName);
        Assert.Equal(LoraBake.Training.TrainExportStage.KohyaMixedPrecision("auto"), SafetensorsFile.Open(next.Output("t-01.safetensors")).Metadata["ss_mixed_precision"]);
    }

    static int Cells(TrainProject p)
    {
        var dir = Path.Combine(p.Layout.StoreDir, "entries", LoraBake.Evaluation.CellStore.Kind);
        return Directory.Exists(dir) ? Directory.GetDirectories(dir).Length : 0;
    }

    [Fact, Trait("Category", "E2E")]
    public void Preview_renders_each_epochs_cells_as_it_finishes_and_evaluate_reuses_them()
    {
        using var project = new TrainProject(epochs: 2, repeats: 1);
        File.AppendAllText(project.Layout.RecipePath(TrainProject.Name), "\n" + """
            evaluation:
              prompts: ["[trigger], red hair"]
              seeds: [7]
              sampler: euler_a
              steps: 2
              width: 64
              height: 64
              weights: [1.0]
              preview: true

            """);
        project.Run("Download");
        project.Run("Process");
        project.Run("Train-Epoch-01");
        // Stopped here, the user has the baseline and epoch 1.
        Assert.Equal(2, Cells(project));
        project.Run("Train-Epoch-02");
        Assert.Equal(3, Cells(project));
        project.Run(LoraBake.Training.TrainExportStage.StageName);
        Assert.True(project.Run("Evaluate").Ran);
        // Evaluate found every cell: the previews used the exported files' exact bytes, so no key is new.
        Assert.Equal(3, Cells(project));
        Assert.True(File.Exists(project.Output("grids/grid.png")));
    }

    /// <summary>Each of the colab's optimizers trains the tiny project (Prodigy and DAdapt* with the colab's override values).</summary>
    [Theory, Trait("Category", "E2E")]
    [InlineData("AdamW8bit", "[min_8bit_size=0]")]
    [InlineData("DAdaptAdam", "[]")]
    [InlineData("DAdaptLion", "[weight_decay=0.01]")]
    [InlineData("AdaFactor", "[]")]
    [InlineData("SGDNesterov", "[]")]
    [InlineData("Prodigy", "[]")]
    public void Each_colab_optimizer_trains_an_epoch(string optimizer, string args)
    {
        using var project = new TrainProject(epochs: 1, repeats: 1);
        var recipe = project.Layout.RecipePath(TrainProject.Name);
        File.WriteAllText(recipe, File.ReadAllText(recipe).Replace("  optimizer: AdamW\n", $"  optimizer: {optimizer}\n  optimizer_args: {args}\n", StringComparison.Ordinal));
        project.RunAll(1);
        Assert.True(MaxUp(project.Output("t-01.safetensors")) > 0, "lora_up weights moved from zero");
        Assert.All(Losses(project), l => Assert.True(double.IsFinite(l)));
        Assert.StartsWith(LoraBake.Training.OptimizerFactory.KohyaClassName(optimizer), LoraBake.Models.Checkpoints.SafetensorsFile.Open(project.Output("t-01.safetensors")).Metadata["ss_optimizer"]);
    }
}
