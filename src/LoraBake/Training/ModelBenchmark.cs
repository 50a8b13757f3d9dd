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

    public static double MatmulGflops(int n = 2048, int repeats = 5, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var a = randn([n, n]).to(dtype, device ?? CPU);
        var b = randn([n, n]).to(dtype, device ?? CPU);
        using (no_grad()) matmul(a, b).Dispose();
        Synchronize(a.device);
        // The median of five timings: one timing of a few products swings by a third on a busy (or boosting) CPU.
        var rates = new List<double>();
        for (int trial = 0; trial < 5; trial++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < repeats; i++) using (no_grad()) matmul(a, b).Dispose();
            Synchronize(a.device);
            rates.Add(2.0 * n * n * (double)n * repeats / sw.Elapsed.TotalSeconds / 1e9);
        }
        rates.Sort();
        return rates[rates.Count / 2];
    }

    /// <summary>Waits for a GPU's queued kernels, so a wall-clock time covers them (no-op on the CPU).</summary>
    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
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
    /// <param name="Seconds">The median step after the first (by ratio where there is a reference): what each of a run's
    /// steps costs.</param>
    /// <param name="FirstSeconds">The first step: it also touches every activation page and creates the optimizer state.</param>
    /// <param name="Ratio">The step's GFLOP/s over the reference rate read around it (see <see cref="TrainStep"/>), for the
    /// step whose ratio is the median; NaN without a reference.</param>
    /// <param name="ReferenceGflops">That step's reference rate (NaN without one).</param>
    public sealed record StepResult(double Seconds, double FirstSeconds, double PeakRssGb, double Gflop, int Modules,
        double Ratio = double.NaN, double ReferenceGflops = double.NaN);

    /// <summary>
    /// A LoRA training step on a random UNet (text encoder frozen): forward, L2 loss, backward, AdamW, with the frozen
    /// weights in their dtype and, optionally, gradient checkpointing. One rig serves the timed and the profiled step.
    /// </summary>
    private sealed class StepRig : IDisposable
    {
        public readonly UNet2DConditionModel Unet;
        public readonly LoraNetwork Network;
        readonly AdamWOptimizer optimizer;
        readonly Tensor x, t, c, eps;

        readonly Device device;

        public StepRig(UNetConfig config, int latent, ScalarType frozen, bool gradientCheckpointing, int dim, Device? device = null)
        {
            torch.manual_seed(0);
            this.device = device ?? CPU;
            Unet = new UNet2DConditionModel(config, dtype: frozen);   // built in its dtype: no fp32 copy in the peak
            FrozenPrecision.For(frozen, this.device.type).WidenAllButProducts(Unet);   // bf16 held, fp32 math where bf16 is wrong here
            if (this.device.type != DeviceType.CPU) Unet.to(this.device);
            Unet.GradientCheckpointing = gradientCheckpointing;
            Network = LoraNetwork.Create(Unet, null, NetworkType.LoRA, dim, dim / 2.0);
            optimizer = new AdamWOptimizer(Network.ParamGroups(1e-4, null, 1e-4));
            x = randn([1, config.InChannels, latent, latent]).to(this.device);
            t = full([1], 500L, ScalarType.Int64).to(this.device);
            c = randn([1, 77, config.CrossAttentionDim]).to(this.device);
            eps = randn([1, config.InChannels, latent, latent]).to(this.device);
        }

        /// <returns>Seconds of the forward (to the loss) within the step.</returns>
        public double Step()
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var loss = nn.functional.mse_loss(Unet.forward(x, t, c).to(ScalarType.Float32), eps);
            double forward = sw.Elapsed.TotalSeconds;
            loss.backward();
            optimizer.Step();
            optimizer.ZeroGrad();
            Synchronize(device);
            return forward;
        }

        public void Dispose()
        {
            Network.Remove();
            optimizer.Dispose();
            Network.Dispose();
            Unet.Dispose();
        }
    }

    /// <summary>
    /// One timed training step (see <see cref="StepRig"/>). Peak RSS is the whole process's, so run one setting per
    /// process to compare settings.
    /// </summary>
    /// <param name="referenceGflops">
    /// Reads the machine's reference rate (the matmul's GFLOP/s). It is read just before the timed steps and after each
    /// one, and each step is compared with the mean of the readings on either side of it: a shared or boosting CPU
    /// drifts by a third within a minute, and a rate read once, before a step, is a rate of another moment.
    /// </param>
    public static StepResult TrainStep(UNetConfig config, int latent, ScalarType frozen, int runs, bool gradientCheckpointing = false, int dim = 16,
        Device? device = null, Func<double>? referenceGflops = null)
    {
        // Useful work: the forward, and a backward to the inputs of about the same size (the frozen weights need no
        // gradient); the adapters' own work is small next to it. Recomputation is not counted: it is overhead.
        double gflop = 2 * 2.0 * UNetFlops.MultiplyAdds(config, latent, latent, 77) / 1e9;
        using var rig = new StepRig(config, latent, frozen, gradientCheckpointing, dim, device);
        var first = Stopwatch.StartNew();
        rig.Step();
        double firstSeconds = first.Elapsed.TotalSeconds;
        var steps = new List<(double Seconds, double Reference)>();
        double before = referenceGflops?.Invoke() ?? double.NaN;
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            rig.Step();
            double seconds = sw.Elapsed.TotalSeconds;
            double after = referenceGflops?.Invoke() ?? double.NaN;
            steps.Add((seconds, (before + after) / 2));
            before = after;
        }
        // One step's figures, so the printed time, ratio and rate belong together: the median by ratio where there is a
        // reference, else by time.
        Func<(double Seconds, double Reference), double> rank =
            referenceGflops is null ? step => step.Seconds : step => gflop / step.Seconds / step.Reference;
        var median = steps.OrderBy(rank).ElementAt(steps.Count / 2);
        return new StepResult(median.Seconds, firstSeconds, Process.GetCurrentProcess().PeakWorkingSet64 / 1e9, gflop,
            rig.Network.Modules.Count, gflop / median.Seconds / median.Reference, median.Reference);
    }

    /// <summary>One profiled training step: each resnet and transformer block's forward and backward seconds.</summary>
    public sealed record ProfileRow(string Block, double Forward, double Backward);

    /// <summary>Where a training step's time goes. Blocks and ops are timed in separate steps (the op markers cost
    /// time of their own): <paramref name="StepSeconds"/> is the block-timed step, <paramref name="OpStepSeconds"/> the op-timed one.</summary>
    public sealed record StepProfile(IReadOnlyList<ProfileRow> Rows, IReadOnlyList<BlockProfiler.OpRow> Ops, double StepSeconds, double ForwardSeconds, double OpStepSeconds);

    public static StepProfile ProfileStep(UNetConfig config, int latent, ScalarType frozen, bool gradientCheckpointing = false, int dim = 16)
    {
        using var rig = new StepRig(config, latent, frozen, gradientCheckpointing, dim);
        using var profiler = new BlockProfiler(rig.Unet);
        rig.Step();                                          // warms the kernels up
        profiler.Reset();
        var sw = Stopwatch.StartNew();
        double forward = rig.Step();
        double step = sw.Elapsed.TotalSeconds;
        var rows = profiler.Results.Select(r => new ProfileRow(r.Block, r.Times.Forward, r.Times.Backward)).ToList();
        profiler.Reset();
        profiler.TimeOps = true;
        sw.Restart();
        rig.Step();
        double opStep = sw.Elapsed.TotalSeconds;
        return new StepProfile(rows, profiler.OpResults, step, forward, opStep);
    }
}
