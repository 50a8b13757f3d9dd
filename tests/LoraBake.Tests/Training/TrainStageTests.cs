using LoraBake.Models.Checkpoints;
using LoraBake.Runtime;
using LoraBake.Training;

namespace LoraBake.Tests.Training;

[Collection(LoraBake.Tests.Numerics.RouteCollection.Name)]
public class TrainStageTests
{
    [Fact, Trait("Category", "E2E")]
    public void A_build_killed_mid_epoch_resumes_to_byte_identical_files()
    {
        // 12 steps an epoch: the kill lands well inside the epoch even when steps are fast.
        using var reference = new TrainProject(repeats: 4);
        reference.RunAll(2);

        using var killed = new TrainProject(repeats: 4);
        killed.Run("Download");
        killed.Run("Process");
        killed.Run("Train-Epoch-01");
        using (var p = killed.StartCli("Train-Epoch-02"))
        {
            // Kill the process as soon as it reports its first step: the epoch has just begun.
            string? line;
            var output = new System.Text.StringBuilder();
            while ((line = p.StandardOutput.ReadLine()) != null && !line.Contains("step 1/12", StringComparison.Ordinal)) output.AppendLine(line);
            if (line is null)
                Assert.Fail($"the epoch's process ended (exit {(p.WaitForExit(10_000) ? p.ExitCode : -1)}) before its first step:\n{output}{p.StandardError.ReadToEnd()}");
            Assert.False(p.HasExited, "the epoch finished before it could be killed");
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        Assert.False(killed.Run("Train-Epoch-01").Ran, "the finished epoch is reused");
        Assert.True(killed.Run("Train-Epoch-02").Ran, "the killed epoch left nothing that looks finished");
        killed.Run(TrainExportStage.StageName);

        foreach (var file in new[] { "t-01.safetensors", "t-02.safetensors", "loss.csv" })
            Assert.Equal(File.ReadAllBytes(reference.Output(file)), File.ReadAllBytes(killed.Output(file)));
    }

    [Fact, Trait("Category", "E2E")]
    public void Export_carries_kohya_metadata_and_reloads_to_the_trained_tensors()
    {
        using var project = new TrainProject();
        project.RunAll(2);
        var file = SafetensorsFile.Open(project.Output("t-02.safetensors"));
        Assert.Equal("t", file.Metadata["ss_output_name"]);
        Assert.Equal("4", file.Metadata["ss_network_dim"]);
        Assert.Equal("2", file.Metadata["ss_epoch"]);
        Assert.Equal("12", file.Metadata["ss_steps"]);
        Assert.True(file.Metadata.ContainsKey("sshs_model_hash"));
        Assert.Contains(file.Keys, k => k.StartsWith("lora_te_text_model_encoder_layers_0_self_attn_q_proj.", StringComparison.Ordinal));
        Assert.Contains(file.Keys, k => k.StartsWith("lora_unet_", StringComparison.Ordinal) && k.EndsWith(".lora_up.weight", StringComparison.Ordinal));
        Assert.All(file.Entries, e => Assert.Equal("F16", e.DType));

        // The up weights were trained away from their zero init.
        var up = file.Load(file.Keys.First(k => k.EndsWith(".lora_up.weight", StringComparison.Ordinal) && k.StartsWith("lora_unet", StringComparison.Ordinal)));
        Assert.True(up.to(TorchSharp.torch.ScalarType.Float32).abs().max().item<float>() > 0f);

        // Applied at weight w, the trained file merges as the reference formula says: W + w·(alpha/dim)·(up @ down).
        const string module = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_q";
        var down = file.Load(module + ".lora_down.weight").to(TorchSharp.torch.ScalarType.Float32);
        var upQ = file.Load(module + ".lora_up.weight").to(TorchSharp.torch.ScalarType.Float32);
        var alpha = file.Load(module + ".alpha").to(TorchSharp.torch.ScalarType.Float32).item<float>();
        var entry = Directory.GetDirectories(Path.Combine(project.Layout.StoreDir, "entries", "download")).Single();
        var checkpoint = Directory.GetFiles(Path.Combine(entry, "model"), "*.safetensors").Single();
        using var model = LoraBake.Models.Sd1Model.Load(checkpoint);
        var weight = model.Unet.named_parameters().Single(p => p.name == "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q.weight").parameter;
        var expected = weight.detach().clone() + 0.7 * (alpha / down.shape[0]) * TorchSharp.torch.matmul(upQ, down);
        var tensors = file.Load(dtype: TorchSharp.torch.ScalarType.Float32);
        using var network = LoraBake.Networks.LoraNetwork.FromWeights(model.Unet, model.TextEncoder, tensors, project.Output("t-02.safetensors"));
        network.MergeInto(0.7);
        Assert.True(TorchSharp.torch.allclose(weight, expected, rtol: 1e-6, atol: 1e-6), "merged weight differs from W + w·scale·up@down");

        var loss = File.ReadAllLines(project.Output("loss.csv"));
        Assert.Equal(EpochTrainer.LossHeader.TrimEnd('\n'), loss[0]);
        Assert.Equal(13, loss.Length); // header + 2 epochs × 6 steps
    }

    [Fact, Trait("Category", "E2E")]
    public void Extending_a_constant_lr_run_reuses_the_finished_epochs()
    {
        using var project = new TrainProject();
        project.RunAll(2);
        File.WriteAllText(project.Layout.RecipePath(TrainProject.Name),
            File.ReadAllText(project.Layout.RecipePath(TrainProject.Name)).Replace("how_many: 2", "how_many: 3", StringComparison.Ordinal));
        Assert.False(project.Run("Train-Epoch-01").Ran);
        Assert.False(project.Run("Train-Epoch-02").Ran);
        Assert.True(project.Run("Train-Epoch-03").Ran);
    }

    [Fact, Trait("Category", "E2E")]
    public void A_loss_broken_on_the_first_step_blames_the_numbers_not_the_learning_rate_and_keeps_earlier_epochs()
    {
        using var project = new TrainProject();
        project.Run("Download");
        project.Run("Process");
        project.Run("Train-Epoch-01");
        // Beyond what a recipe may say (noise_offset ≤ 1): noise this large overflows the loss on the first step.
        var e = Assert.Throws<UserError>(() => project.Run("Train-Epoch-01", r => r with { Training = r.Training with { NoiseOffset = 1e38 } }));
        Assert.StartsWith("the numbers broke, not the learning: the loss became", e.Message);
        Assert.Contains("in the forward pass at epoch 1 step 1", e.Message);
        Assert.Contains("lorabake doctor", e.Message);
        Assert.DoesNotContain("Lower unet_lr", e.Message);
        Assert.False(project.Run("Train-Epoch-01").Ran, "the epoch built before is kept");
    }

    [Fact]
    public void Auto_mixed_precision_records_what_this_machine_chose()
    {
        var chosen = AutoPrecision.Current;
        Assert.Equal(chosen.Dtype == TorchSharp.torch.ScalarType.BFloat16 ? "bf16" : "no", TrainExportStage.KohyaMixedPrecision("auto"));
        Assert.Equal(chosen.Dtype, TrainEpochStage.FrozenDtype("auto"));
        // bf16 only where the numerics guard found it right, and only when the probe found it clearly faster.
        if (chosen.Dtype == TorchSharp.torch.ScalarType.BFloat16)
            Assert.True(LoraBake.Numerics.NumericsGuard.Current.Bf16Usable && chosen.Bf16Seconds * AutoPrecision.RequiredSpeedup <= chosen.Fp32Seconds, chosen.Summary);
    }

    [Theory]
    [InlineData("fp32", "no")]
    [InlineData("fp16", "fp16")]
    [InlineData("bf16", "bf16")]
    public void Mixed_precision_metadata_uses_kohyas_values(string recipe, string kohya) =>
        Assert.Equal(kohya, TrainExportStage.KohyaMixedPrecision(recipe));

    [Fact]
    public void Kept_epochs_follow_save_every_and_keep_last()
    {
        Assert.Equal([2, 4, 6, 8, 10], TrainExportStage.KeptEpochs(10, 2, 10));
        // kohya: save_last_n_epochs intermediate saves survive, and the final file is always kept besides them.
        Assert.Equal([7, 8, 9, 10], TrainExportStage.KeptEpochs(10, 1, 3));
        Assert.Equal([9, 10], TrainExportStage.KeptEpochs(10, 1, 1));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], TrainExportStage.KeptEpochs(10, 1, 10));
        Assert.Equal([4, 6, 7], TrainExportStage.KeptEpochs(7, 2, 2));
        Assert.Equal([3, 6, 7], TrainExportStage.KeptEpochs(7, 3, 0));
        Assert.Equal([7], TrainExportStage.KeptEpochs(7, 0, 0));
        Assert.Equal("demo-03.safetensors", TrainExportStage.FileName("demo", 3, 10));
        Assert.Equal("demo-003.safetensors", TrainExportStage.FileName("demo", 3, 120));
    }
}
