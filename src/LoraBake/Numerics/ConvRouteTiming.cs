using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// Which of the two convolution routes the self-test found right is faster on this machine: oneDNN's kernels or
/// unfold + matmul. Where every oneDNN class passed, both are right, and which one is faster differs by CPU (oneDNN's
/// JIT kernels against one large matrix product plus strided adds in backward), so the choice is measured, not fixed. The probe
/// is SD1's convolutions as training runs them (3×3 at levels 1 and 2, a stride-2 downsample, a 1×1 shortcut, at a
/// quarter of 512 px; forward and input gradients, fp32), the routes taking turns (<see cref="TakingTurns"/>), cached per machine
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

    /// <summary>Times both routes now, in turns (oneDNN must be enabled: it is unless the route is <c>native</c>).</summary>
    public static ConvRouteTiming Measure()
    {
        using var scope = NewDisposeScope();
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
        var (oneDnn, unfold) = TakingTurns.MedianSeconds(
            () => Pass((x, w, s, p) => nn.functional.conv2d(x, w, null, [s, s], [p, p], [1, 1])),
            () => Pass((x, w, s, p) => GuardedConv.Unfolded(x, w, null, [s, s], [p, p], [1, 1])));
        return new ConvRouteTiming(oneDnn, unfold, FromCache: false);
    }

    /// <summary>(channels in, channels out, kernel, stride, spatial size) of each probed convolution.</summary>
    static readonly (long In, long Out, long Kernel, long Stride, long Size)[] Shapes =
    [
        (320, 320, 3, 1, 32),
        (320, 320, 3, 2, 32),
        (320, 640, 3, 1, 16),
        (320, 640, 1, 1, 16),
        (640, 640, 3, 1, 16),
    ];
}
