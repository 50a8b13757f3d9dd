using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Networks;
using LoraBake.Training;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>AdamW8bit's point is memory: its state for a full-size SD 1.5 LoRA against 32-bit AdamW's.</summary>
[Collection(LoraBake.Tests.Numerics.RouteCollection.Name)]
public class AdamW8bitMemoryTests(ITestOutputHelper output)
{
    [Fact, Trait("Category", "E2E")]
    public void State_of_a_full_sd15_lora_dim_16_is_about_a_quarter_of_adamw()
    {
        // The network's parameter shapes from the full-size architecture on the meta device (no weights).
        var meta = new Device(TorchSharp.DeviceType.META);
        List<long[]> shapes;
        using (var unet = new UNet2DConditionModel(UNetConfig.Sd15, device: meta))
        using (var te = new ClipTextModel(ClipTextConfig.Sd1, device: meta))
        using (var lora = LoraNetwork.Create(unet, te, NetworkType.LoRA, 16, 8))
        {
            shapes = lora.parameters().Select(p => p.shape).ToList();
            lora.Remove();
        }
        var parameters = shapes.Select(s => new Parameter(zeros(s), requires_grad: true)).ToList();
        long values = shapes.Sum(s => s.Aggregate(1L, (a, b) => a * b));
        using var opt = new AdamW8bitOptimizer([new NetworkParamGroup("all", parameters, 1e-4)]);
        using (no_grad()) foreach (var p in parameters) p.grad = randn(p.shape) * 1e-3;
        opt.Step();
        long adamw = 2 * 4 * values;   // exp_avg + exp_avg_sq in fp32
        output.WriteLine($"{parameters.Count} tensors, {values:N0} values: AdamW8bit state {opt.StateBytes:N0} B, AdamW {adamw:N0} B ({(double)opt.StateBytes / adamw:P1})");
        Assert.True(opt.StateBytes < 0.3 * adamw, $"{opt.StateBytes} vs {adamw}");
        foreach (var p in parameters) p.Dispose();
    }

    /// <summary>The loss curve of 8-bit state (everywhere: min_8bit_size=0) against 32-bit AdamW on the tiny project.</summary>
    [Fact, Trait("Category", "E2E")]
    public void Loss_curve_with_8_bit_state_follows_adamw()
    {
        double[] Train(string optimizer)
        {
            using var project = new TrainProject(epochs: 2, repeats: 1);
            var recipe = project.Layout.RecipePath(TrainProject.Name);
            File.WriteAllText(recipe, File.ReadAllText(recipe).Replace("  optimizer: AdamW\n", optimizer, StringComparison.Ordinal));
            project.RunAll(2);
            return File.ReadAllLines(project.Output("loss.csv")).Skip(1)
                .Select(l => double.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        var adamw = Train("  optimizer: AdamW\n  optimizer_args: [weight_decay=0.01]\n");
        var eight = Train("  optimizer: AdamW8bit\n  optimizer_args: [min_8bit_size=0]\n");
        string Show(double[] l) => string.Join(" ", l.Select(v => v.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture)));
        output.WriteLine($"AdamW     {Show(adamw)}");
        output.WriteLine($"AdamW8bit {Show(eight)}");
        Assert.Equal(adamw.Length, eight.Length);
        // Same data, noise and timesteps: the first step is identical, later steps differ only by the quantised moments.
        Assert.Equal(adamw[0], eight[0]);
        Assert.True(Math.Abs(adamw.Average() - eight.Average()) < 0.05 * adamw.Average(), $"mean loss {adamw.Average()} vs {eight.Average()}");
    }
}
