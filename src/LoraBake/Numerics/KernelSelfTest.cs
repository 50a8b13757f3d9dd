using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// The start-up self-test of the CPU kernels LoraBake relies on. For every convolution shape class
/// (<see cref="ConvClass"/>) it runs oneDNN twice on small representative shapes, forward and both
/// gradients, and compares with the same sums in float64 (which never reaches oneDNN) and with each other:
/// a class passes when every result is finite, within 1e-3 of the float64 result relative to its largest
/// value, and bit-identical between the two runs (a race shows as a difference or a NaN). It then checks
/// the unfold formulation the Guarded route falls back on, and bfloat16 matrix products and convolutions.
/// </summary>
public static class KernelSelfTest
{
    public sealed record Result(
        IReadOnlyDictionary<ConvClass, (bool Forward, bool Backward)> Classes,
        bool UnfoldCorrect, bool Bf16Correct, bool Bf16UnfoldedCorrect, IReadOnlyList<KernelCheck> Checks, double Milliseconds);

    const double Float32Tolerance = 1e-3;
    const double Bf16Tolerance = 5e-2;

    static readonly Dictionary<ChannelAlignment, long[]> Representatives = new()
    {
        [ChannelAlignment.Narrow] = [4, 8],
        [ChannelAlignment.Half] = [16, 48],
        [ChannelAlignment.Full] = [32, 64],
        [ChannelAlignment.Ragged] = [24, 40],
    };

    /// <summary>(kernel, stride) of the convolutions an SD1 UNet, VAE and adapter use.</summary>
    static readonly (long Kernel, long Stride)[] Kinds = [(1, 1), (3, 1), (3, 2)];

    public static Result Run()
    {
        var clock = Stopwatch.StartNew();
        var checks = new List<KernelCheck>();
        var classes = new Dictionary<ConvClass, (bool, bool)>();
        bool wasEnabled = OneDnnSwitch.Enabled;
        if (OneDnnSwitch.Available) OneDnnSwitch.Enabled = true;
        try
        {
            using var _ = NewDisposeScope();
            using var noGradGuard = enable_grad();
            var failures = new List<string>();
            foreach (var (kernel, stride) in Kinds)
            foreach (var batched in new[] { false, true })
            foreach (var inAlign in Representatives.Keys)
            foreach (var outAlign in Representatives.Keys)
            {
                var cls = new ConvClass(kernel == 1, stride, batched, inAlign, outAlign);
                bool forward = true, backward = true;
                for (int variant = 0; variant < 2; variant++)
                {
                    long inC = Representatives[inAlign][variant], outC = Representatives[outAlign][1 - variant];
                    // Batch 1 at a larger size and batch 2 at small, odd sizes: where the measured faults live.
                    var (b, h, w) = batched ? (2L, variant == 0 ? 6L : 20L, variant == 0 ? 10L : 24L) : (1L, variant == 0 ? 8L : 34L, variant == 0 ? 8L : 34L);
                    var (f, g) = CheckOneDnn(b, inC, outC, kernel, stride, h, w, out var evidence);
                    forward &= f;
                    backward &= g;
                    if (!f || !g) failures.Add($"{inC}->{outC} {kernel}x{kernel} s{stride} b{b} {h}x{w}: {evidence}");
                }
                classes[cls] = (forward, backward);
            }
            int bad = classes.Values.Count(v => !v.Item1 || !v.Item2);
            checks.Add(new KernelCheck($"oneDNN convolutions ({classes.Count} shape classes, forward + gradients, 2 runs each)", bad == 0,
                bad == 0 ? "all within 1e-3 of float64 and repeatable"
                    : $"{bad} classes wrong: {classes.Count(v => !v.Value.Item1)} forward, {classes.Count(v => !v.Value.Item2)} gradient; e.g. " +
                      string.Join("; ", failures.Take(3))));

            bool unfold = CheckUnfold(out var unfoldEvidence);
            checks.Add(new KernelCheck("unfold + matmul convolution (the guarded fallback)", unfold, unfoldEvidence));

            var (bf16, bf16Unfolded) = CheckBf16(out var bf16Evidence);
            checks.Add(new KernelCheck("bfloat16 matmul and convolution", bf16 || bf16Unfolded, bf16Evidence));

            return new Result(classes, unfold, bf16, bf16Unfolded, checks, clock.Elapsed.TotalMilliseconds);
        }
        finally
        {
            if (OneDnnSwitch.Available) OneDnnSwitch.Enabled = wasEnabled;
        }
    }

    /// <summary>oneDNN (float32, two runs) against float64: (forward right, gradients right).</summary>
    static (bool Forward, bool Backward) CheckOneDnn(long b, long inC, long outC, long kernel, long stride, long h, long w, out string evidence)
    {
        using var _ = NewDisposeScope();
        var (x, wt, bias, gy) = Inputs(b, inC, outC, kernel, stride, h, w, seed: 17 + inC * 31 + outC);
        long pad = kernel / 2;
        // The float64 reference as unfold + matmul: the same sums, and far quicker than float64 convolution kernels
        // (that formulation is itself checked against them in CheckUnfold).
        var reference = Run(x.to(float64), wt.to(float64), bias.to(float64), gy.to(float64), stride, pad, unfold: true);
        var first = Run(x, wt, bias, gy, stride, pad, unfold: false);
        var second = Run(x, wt, bias, gy, stride, pad, unfold: false);
        double ef = Error(first.Y, reference.Y), eg = Math.Max(Error(first.Dx, reference.Dx), Error(first.Dw, reference.Dw));
        bool fRepeat = Same(first.Y, second.Y), gRepeat = Same(first.Dx, second.Dx) && Same(first.Dw, second.Dw);
        bool forward = ef <= Float32Tolerance && fRepeat && Error(second.Y, reference.Y) <= Float32Tolerance;
        bool backward = eg <= Float32Tolerance && gRepeat
                        && Math.Max(Error(second.Dx, reference.Dx), Error(second.Dw, reference.Dw)) <= Float32Tolerance;
        evidence = string.Create(CultureInfo.InvariantCulture,
            $"forward rel err {Describe(ef)}{(fRepeat ? "" : ", runs differ")}, gradient rel err {Describe(eg)}{(gRepeat ? "" : ", runs differ")}");
        return (forward, backward);
    }

    static bool CheckUnfold(out string evidence)
    {
        using var _ = NewDisposeScope();
        double worst = 0;
        foreach (var (b, inC, outC, kernel, stride, h, w) in new (long, long, long, long, long, long, long)[]
                 { (2, 24, 32, 3, 1, 6, 10), (2, 32, 4, 3, 1, 20, 24), (2, 48, 48, 3, 2, 7, 9), (1, 40, 8, 1, 1, 34, 34), (1, 64, 24, 3, 2, 34, 34) })
        {
            var (x, wt, bias, gy) = Inputs(b, inC, outC, kernel, stride, h, w, seed: 5 + inC);
            var reference = Run(x.to(float64), wt.to(float64), bias.to(float64), gy.to(float64), stride, kernel / 2, unfold: false);
            var unfolded = Run(x, wt, bias, gy, stride, kernel / 2, unfold: true);
            worst = Math.Max(worst, Math.Max(Error(unfolded.Y, reference.Y), Math.Max(Error(unfolded.Dx, reference.Dx), Error(unfolded.Dw, reference.Dw))));
        }
        evidence = $"worst rel err {Describe(worst)} against float64 (forward and gradients)";
        return worst <= Float32Tolerance;
    }

    /// <summary>bfloat16 matmul, and convolutions (forward and gradients) on oneDNN and as unfold + matmul.</summary>
    static (bool OneDnn, bool Unfolded) CheckBf16(out string evidence)
    {
        using var _ = NewDisposeScope();
        var g = new Generator(23);
        var a = randn(new long[] { 64, 128 }, generator: g).to(bfloat16);
        var m = randn(new long[] { 128, 96 }, generator: g).to(bfloat16);
        double mm = Error(a.matmul(m), a.to(float64).matmul(m.to(float64)));
        double oneDnn = 0, unfolded = 0;
        // Frozen bf16 weights see convolutions forward and backward (input gradients) in training.
        foreach (var (b, inC, outC, stride, h, w) in new (long, long, long, long, long, long)[]
                 { (2, 32, 32, 1, 12, 12), (2, 24, 32, 1, 6, 10), (2, 32, 4, 1, 20, 24), (2, 64, 64, 2, 16, 16), (1, 64, 24, 1, 34, 34) })
        {
            var (x, wt, bias, gy) = Inputs(b, inC, outC, 3, stride, h, w, seed: 29 + inC);
            var (xb, wb, bb, gb) = (x.to(bfloat16), wt.to(bfloat16), bias.to(bfloat16), gy.to(bfloat16));
            var reference = Run(xb.to(float64), wb.to(float64), bb.to(float64), gb.to(float64), stride, 1, unfold: true);
            foreach (var unfold in new[] { false, true })
            {
                var actual = Run(xb, wb, bb, gb, stride, 1, unfold);
                double e = Math.Max(Error(actual.Y, reference.Y), Math.Max(Error(actual.Dx, reference.Dx), Error(actual.Dw, reference.Dw)));
                if (unfold) unfolded = Math.Max(unfolded, e);
                else oneDnn = Math.Max(oneDnn, e);
            }
        }
        evidence = $"matmul rel err {Describe(mm)}; convolutions (forward and gradients) rel err {Describe(oneDnn)} on oneDNN, " +
                   $"{Describe(unfolded)} as unfold + matmul; allowed {Bf16Tolerance}";
        return (mm <= Bf16Tolerance && oneDnn <= Bf16Tolerance, mm <= Bf16Tolerance && unfolded <= Bf16Tolerance);
    }

    sealed record Outcome(Tensor Y, Tensor Dx, Tensor Dw);

    static Outcome Run(Tensor x, Tensor w, Tensor bias, Tensor gy, long stride, long pad, bool unfold)
    {
        var xi = x.detach().requires_grad_(true);
        var wi = w.detach().requires_grad_(true);
        long[] s = [stride, stride], p = [pad, pad], d = [1, 1];
        var y = unfold ? GuardedConv.Unfolded(xi, wi, bias, s, p, d) : nn.functional.conv2d(xi, wi, bias, s, p, d);
        var grads = autograd.grad([y], [xi, wi], [gy]);
        return new Outcome(y.detach(), grads[0], grads[1]);
    }

    static (Tensor X, Tensor W, Tensor Bias, Tensor Gy) Inputs(long b, long inC, long outC, long kernel, long stride, long h, long w, long seed)
    {
        var g = new Generator((ulong)seed);
        var x = randn(new long[] { b, inC, h, w }, generator: g);
        var wt = randn(new long[] { outC, inC, kernel, kernel }, generator: g) / Math.Sqrt(inC * kernel * kernel);
        var bias = randn(new long[] { outC }, generator: g);
        long outH = (h + 2 * (kernel / 2) - kernel) / stride + 1, outW = (w + 2 * (kernel / 2) - kernel) / stride + 1;
        var gy = randn(new long[] { b, outC, outH, outW }, generator: g);
        return (x, wt, bias, gy);
    }

    /// <summary>Largest absolute difference over the reference's largest magnitude; +∞ for a non-finite result.</summary>
    static double Error(Tensor actual, Tensor reference)
    {
        if (!actual.isfinite().all().item<bool>()) return double.PositiveInfinity;
        double scale = reference.abs().max().item<double>();
        return (actual.to(float64) - reference).abs().max().item<double>() / Math.Max(scale, 1e-12);
    }

    static bool Same(Tensor a, Tensor b) => a.isfinite().all().item<bool>() && !a.ne(b).any().item<bool>();

    static string Describe(double e) => double.IsPositiveInfinity(e) ? "NaN/Inf" : e.ToString("0.0e0", CultureInfo.InvariantCulture);
}
