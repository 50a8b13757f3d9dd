using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// Which of the two convolution routes the self-test found right is faster on this machine: oneDNN's kernels or
/// unfold + matmul. Where every oneDNN class passed, both are right, and which one is faster differs by CPU (oneDNN's
/// JIT kernels against one large matrix product plus strided adds in backward), so the choice is measured, not fixed. The probe
/// is SD1's convolutions as training runs them (3×3 at levels 1 and 2, a stride-2 downsample, a 1×1 shortcut, at a
/// quarter of 512 px; forward and input gradients, fp32), the routes taking turns, a median of seven runs each after a warm-up, cached per machine
/// beside the self-test; delete the file to measure again.
/// </summary>
public sealed record ConvRouteTiming(double OneDnnSeconds, double UnfoldSeconds, bool FromCache)
{
    /// <summary>Bump when the probe's shapes change, or either route's formulation does.</summary>
    const int ProbeVersion = 3;   // 2: unfold + matmul builds its columns with Im2Col; 3: the routes take turns

    /// <summary>
    /// Unfold + matmul must save at least this share of the time to replace LibTorch's own kernels: a near tie is
    /// within timing noise, and a choice that flips between runs would change the bytes of float results.
    /// </summary>
    public const double RequiredSpeedup = 1.2;

    /// <summary>The faster route; a near tie keeps LibTorch's own kernels.</summary>
    public ConvRoute Faster => UnfoldSeconds * RequiredSpeedup <= OneDnnSeconds ? ConvRoute.Guarded : ConvRoute.OneDnn;

    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"measured: oneDNN {OneDnnSeconds * 1000:0} ms, unfold+matmul {UnfoldSeconds * 1000:0} ms{(FromCache ? ", cached for this machine" : "")}");

    /// <summary>This machine's timing: from the cache in <paramref name="cacheDirectory"/> (default: the self-test's), else measured and stored.</summary>
    public static ConvRouteTiming LoadOrMeasure(string? cacheDirectory = null)
    {
        var (timing, fromCache) = SelfTestCache.LoadOrMeasure($"{SelfTestCache.MachineKey()} | conv route probe v{ProbeVersion}", "convroute",
            Measure, cacheDirectory);
        return timing with { FromCache = fromCache };
    }

    /// <summary>Times both routes now (oneDNN must be enabled: it is unless the route is <c>native</c>).</summary>
    public static ConvRouteTiming Measure()
    {
        var (oneDnn, unfold) = TakingTurns(
            (x, w, s, p) => nn.functional.conv2d(x, w, null, [s, s], [p, p], [1, 1]),
            (x, w, s, p) => GuardedConv.Unfolded(x, w, null, [s, s], [p, p], [1, 1]));
        return new ConvRouteTiming(oneDnn, unfold, FromCache: false);
    }

    /// <summary>Timed runs of each candidate, after one untimed: a single pass of the probe swings by a third on an idle
    /// 2-core VM (Zen 4: oneDNN 65–101 ms, unfold 74–98 ms over four probes of four runs), so seven make the median.</summary>
    internal const int Runs = 8;

    /// <summary>(channels in, channels out, kernel, stride, spatial size) of each probed convolution.</summary>
    static readonly (long In, long Out, long Kernel, long Stride, long Size)[] Shapes =
    [
        (320, 320, 3, 1, 32),
        (320, 320, 3, 2, 32),
        (320, 640, 3, 1, 16),
        (320, 640, 1, 1, 16),
        (640, 640, 3, 1, 16),
    ];

    /// <summary>
    /// Median seconds of each route over the probe's shapes. The routes take turns (A B, B A, ...): a load that comes
    /// or goes while the probe runs falls on both alike, where timing one route after the other let a busy moment pick
    /// the slower route for good (it is cached).
    /// </summary>
    internal static (double A, double B) TakingTurns(Func<Tensor, Tensor, long, long, Tensor> a, Func<Tensor, Tensor, long, long, Tensor> b)
    {
        using var scope = NewDisposeScope();
        // The guard decides lazily, at its first use, which may sit in a caller's no_grad (a render): the probe times
        // a backward, so it turns gradients on for itself.
        using var grad = enable_grad();
        var generator = new Generator(0);
        var inputs = Shapes.Select(s => (
            X: randn([1, s.In, s.Size, s.Size], generator: generator),
            W: randn([s.Out, s.In, s.Kernel, s.Kernel], generator: generator) * (1.0 / Math.Sqrt(s.In * s.Kernel * s.Kernel)),
            s.Stride, Padding: s.Kernel / 2)).ToList();
        double Pass(Func<Tensor, Tensor, long, long, Tensor> conv)
        {
            using var step = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            foreach (var (x, w, stride, padding) in inputs)
            {
                var input = x.detach().requires_grad_(true);
                conv(input, w, stride, padding).square().mean().backward();
            }
            return sw.Elapsed.TotalSeconds;
        }
        var timesA = new List<double>();
        var timesB = new List<double>();
        for (int run = 0; run < Runs; run++)
        {
            // The first run JIT-compiles oneDNN's kernels: not timed.
            if (run % 2 == 0) { double ta = Pass(a), tb = Pass(b); if (run > 0) { timesA.Add(ta); timesB.Add(tb); } }
            else { double tb = Pass(b), ta = Pass(a); timesA.Add(ta); timesB.Add(tb); }
        }
        return (Median(timesA), Median(timesB));
    }

    static double Median(List<double> times)
    {
        times.Sort();
        return times[times.Count / 2];
    }
}
