using System.Diagnostics;
using System.Globalization;
using LoraBake.Models.UNet;
using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// What <c>mixed_precision: auto</c> means on this machine: bf16 frozen weights when the numerics guard found bf16
/// right here (on its convolution route) and a short measurement finds it clearly faster, else fp32. Which one is
/// faster differs by CPU (AVX-512 BF16 CPUs run bf16 matmuls ~5× faster; others run it slower than fp32), and
/// which one is right differs by CPU too, so neither is fixed. The measurement runs one resnet and one
/// transformer block of SD1's first level (forward and input gradients) in each dtype, the two taking turns, and is cached per machine
/// next to the numerics self-test; delete the file to measure again.
/// </summary>
public sealed record AutoPrecision(ScalarType Dtype, double Fp32Seconds, double Bf16Seconds, string Reason, bool FromCache)
{
    /// <summary>bf16 must save at least this share of the time to be chosen: a near tie is not worth its rounding.</summary>
    public const double RequiredSpeedup = 1.25;
    const int ProbeVersion = 2;   // 2: fp32 and bf16 take turns

    static readonly object Gate = new();
    static AutoPrecision? current;

    public static AutoPrecision Current
    {
        get
        {
            lock (Gate) return current ??= Decide();
        }
    }

    public string Name => Dtype == ScalarType.BFloat16 ? "bf16" : "fp32";

    /// <summary>The precision a <c>mixed_precision</c> setting trains in on this machine: auto decided here, the rest as written.</summary>
    public static string Resolve(string mixedPrecision) => mixedPrecision == "auto" ? Current.Name : mixedPrecision;

    /// <summary>One line for doctor, plan and stage logs.</summary>
    public string Summary => $"mixed_precision auto = {Name} ({Reason}{(FromCache ? "; cached for this machine" : "")})";

    static AutoPrecision Decide()
    {
        var guard = NumericsGuard.Current;
        if (!guard.Bf16Usable) return new(ScalarType.Float32, 0, 0, "bf16 is wrong on this CPU", false);
        string key = $"{SelfTestCache.MachineKey()} | route {ConvRoutes.Name(guard.Route)} | precision probe v{ProbeVersion}";
        var (probe, fromCache) = SelfTestCache.LoadOrMeasure(key, "precision",
            () =>
            {
                var (fp32, bf16) = Measure();
                return new Probe(fp32, bf16);
            });
        return Choose(probe.Fp32Seconds, probe.Bf16Seconds, fromCache);
    }

    sealed record Probe(double Fp32Seconds, double Bf16Seconds);

    static AutoPrecision Choose(double fp32, double bf16, bool fromCache)
    {
        string measured = string.Create(CultureInfo.InvariantCulture, $"probe step fp32 {fp32 * 1000:0} ms, bf16 {bf16 * 1000:0} ms");
        return bf16 * RequiredSpeedup <= fp32
            ? new(ScalarType.BFloat16, fp32, bf16, $"bf16 is right here and faster: {measured}", fromCache)
            : new(ScalarType.Float32, fp32, bf16, $"bf16 is not clearly faster here: {measured}", fromCache);
    }

    /// <summary>
    /// Median seconds of forward + input gradient through SD1's level-1 resnet and transformer at 32×32, in fp32 and in
    /// bf16, taking turns (<see cref="TakingTurns"/>).
    /// </summary>
    internal static (double Fp32Seconds, double Bf16Seconds) Measure()
    {
        using var scope = NewDisposeScope();
        using var fp32 = new ProbeBlocks(ScalarType.Float32);
        using var bf16 = new ProbeBlocks(ScalarType.BFloat16);
        return TakingTurns.MedianSeconds(fp32.Pass, bf16.Pass);
    }

    /// <summary>SD1's level-1 resnet and transformer, frozen, in one dtype, with their inputs.</summary>
    sealed class ProbeBlocks : IDisposable
    {
        readonly ResnetBlock2D resnet;
        readonly Transformer2DModel attention;
        readonly Tensor x, temb, context;

        public ProbeBlocks(ScalarType dtype)
        {
            var generator = new TorchSharp.torch.Generator(0);
            resnet = new ResnetBlock2D(320, 320, 1280, 32, 1e-5, dtype: dtype);
            attention = new Transformer2DModel(8, 40, 320, 1, 768, 32, dtype: dtype);
            foreach (var p in resnet.parameters().Concat(attention.parameters())) p.requires_grad = false;
            x = randn([1, 320, 32, 32], generator: generator).to(dtype);
            temb = randn([1, 1280], generator: generator).to(dtype);
            context = randn([1, 77, 768], generator: generator).to(dtype);
        }

        public double Pass()
        {
            using var step = NewDisposeScope();
            var input = x.detach().requires_grad_(true);
            var sw = Stopwatch.StartNew();
            attention.call(resnet.call(input, temb), context).to(ScalarType.Float32).square().mean().backward();
            return sw.Elapsed.TotalSeconds;
        }

        public void Dispose()
        {
            resnet.Dispose();
            attention.Dispose();
        }
    }
}
