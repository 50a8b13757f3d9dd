using System.Diagnostics;
using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Timings of the model stack on random weights (no checkpoint needed), for `lorabake bench model`: UNet
/// forward at a latent size in fp32 and bf16, the GFLOP/s that implies (from <see cref="UNetFlops"/>) next
/// to TorchSharp's own large-matmul GFLOP/s on this machine, CLIP and VAE times, and one LoRA training step
/// (forward + backward + AdamW) with the frozen weights in each dtype.
/// </summary>
public static class ModelBenchmark
{
    public sealed record Line(string What, double Seconds, string Detail);

    public static double MatmulGflops(int n = 2048, int repeats = 5, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var a = randn([n, n]).to(dtype);
        var b = randn([n, n]).to(dtype);
        using (no_grad()) matmul(a, b).Dispose();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) using (no_grad()) matmul(a, b).Dispose();
        return 2.0 * n * n * (double)n * repeats / sw.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>Median seconds of <paramref name="runs"/> calls, after one warm-up call when runs &gt; 1.</summary>
    public static double Time(Action body, int runs)
    {
        if (runs > 1) body();
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    public static IEnumerable<Line> Unet(UNetConfig config, int latent, int[] batches, ScalarType[] dtypes, int runs, int tokens = 77)
    {
        torch.manual_seed(0);
        using var unet = new UNet2DConditionModel(config);
        unet.eval();
        foreach (var p in unet.parameters()) p.requires_grad = false;
        double macs = UNetFlops.MultiplyAdds(config, latent, latent, tokens);
        foreach (var dtype in dtypes)
        {
            unet.to(dtype);
            foreach (var b in batches)
            {
                using var scope = NewDisposeScope();
                var x = randn([b, config.InChannels, latent, latent]).to(dtype);
                var t = full([b], 500L, ScalarType.Int64);
                var c = randn([b, tokens, config.CrossAttentionDim]).to(dtype);
                double s = Time(() => { using (no_grad()) unet.forward(x, t, c).Dispose(); }, runs);
                yield return new Line($"UNet forward {latent}x{latent} batch {b} {dtype}", s,
                    $"{2 * macs * b / s / 1e9:0.0} GFLOP/s ({macs * b / 1e9:0.0} G multiply-adds)");
            }
        }
    }

    public static IEnumerable<Line> TextAndVae(ClipTextConfig text, VaeConfig vae, int imageSize, int runs)
    {
        torch.manual_seed(0);
        using (var clip = new ClipTextModel(text))
        {
            using var ids = randint(0, text.VocabSize - 1, [2, 77], dtype: ScalarType.Int64);
            yield return new Line("CLIP text encoder, 2 prompts x 77 tokens", Time(() => { using (no_grad()) clip.forward(ids).Dispose(); }, runs), "fp32");
        }
        using var ae = new AutoencoderKL(vae);
        foreach (var p in ae.parameters()) p.requires_grad = false;
        using var image = rand([1, 3, imageSize, imageSize]) * 2 - 1;
        yield return new Line($"VAE encode {imageSize}x{imageSize}", Time(() => { using (no_grad()) using (var d = ae.Encode(image)) { } }, runs), "fp32");
        using var z = randn([1, vae.LatentChannels, imageSize / 8, imageSize / 8]);
        yield return new Line($"VAE decode {imageSize / 8}x{imageSize / 8} latents", Time(() => { using (no_grad()) ae.Decode(z).Dispose(); }, runs), "fp32");
    }

    /// <summary>One timed training step: median seconds, the process's peak RSS, and the step's useful work.</summary>
    public sealed record StepResult(double Seconds, double PeakRssGb, double Gflop, int Modules);

    /// <summary>
    /// One LoRA training step on the UNet (text encoder frozen): forward, L2 loss, backward, AdamW, with the frozen
    /// weights in <paramref name="frozen"/> and, optionally, gradient checkpointing. Peak RSS is the whole process's,
    /// so run one setting per process to compare settings.
    /// </summary>
    public static StepResult TrainStep(UNetConfig config, int latent, ScalarType frozen, int runs, bool gradientCheckpointing = false, int dim = 16)
    {
        torch.manual_seed(0);
        using var unet = new UNet2DConditionModel(config, dtype: frozen);   // built in its dtype: no fp32 copy in the peak
        unet.GradientCheckpointing = gradientCheckpointing;
        using var network = LoraNetwork.Create(unet, null, NetworkType.LoRA, dim, dim / 2.0);
        var groups = network.ParamGroups(1e-4, null, 1e-4);
        using var optimizer = new AdamWOptimizer(groups);
        var x = randn([1, config.InChannels, latent, latent]);
        var t = full([1], 500L, ScalarType.Int64);
        var c = randn([1, 77, config.CrossAttentionDim]);
        var eps = randn([1, config.InChannels, latent, latent]);
        double s = Time(() =>
        {
            using var scope = NewDisposeScope();
            var loss = nn.functional.mse_loss(unet.forward(x, t, c).to(ScalarType.Float32), eps);
            loss.backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }, runs);
        // Useful work: the forward, and a backward to the inputs of about the same size (the frozen weights need no
        // gradient); the adapters' own work is small next to it. Recomputation is not counted: it is overhead.
        double gflop = 2 * 2.0 * UNetFlops.MultiplyAdds(config, latent, latent, 77) / 1e9;
        int modules = network.Modules.Count;
        network.Remove();
        return new StepResult(s, Process.GetCurrentProcess().PeakWorkingSet64 / 1e9, gflop, modules);
    }

    /// <summary>One profiled training step: each resnet and transformer block's forward and backward seconds.</summary>
    public sealed record ProfileRow(string Block, double Forward, double Backward);

    public static (IReadOnlyList<ProfileRow> Rows, double StepSeconds, double ForwardSeconds) ProfileStep(UNetConfig config, int latent,
        ScalarType frozen, bool gradientCheckpointing = false, int dim = 16)
    {
        torch.manual_seed(0);
        using var unet = new UNet2DConditionModel(config, dtype: frozen);   // built in its dtype: no fp32 copy in the peak
        unet.GradientCheckpointing = gradientCheckpointing;
        using var network = LoraNetwork.Create(unet, null, NetworkType.LoRA, dim, dim / 2.0);
        using var optimizer = new AdamWOptimizer(network.ParamGroups(1e-4, null, 1e-4));
        var x = randn([1, config.InChannels, latent, latent]);
        var t = full([1], 500L, ScalarType.Int64);
        var c = randn([1, 77, config.CrossAttentionDim]);
        var eps = randn([1, config.InChannels, latent, latent]);
        using var profiler = new BlockProfiler(unet);
        double step = 0, forward = 0;
        for (int run = 0; run < 2; run++)                    // the first run warms the kernels up
        {
            profiler.Reset();
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var loss = nn.functional.mse_loss(unet.forward(x, t, c).to(ScalarType.Float32), eps);
            forward = sw.Elapsed.TotalSeconds;
            loss.backward();
            optimizer.Step();
            optimizer.ZeroGrad();
            step = sw.Elapsed.TotalSeconds;
        }
        var rows = profiler.Results.Select(r => new ProfileRow(r.Block, r.Times.Forward, r.Times.Backward)).ToList();
        network.Remove();
        return (rows, step, forward);
    }
}
