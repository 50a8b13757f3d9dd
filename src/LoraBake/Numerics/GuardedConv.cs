using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// Every 2-D convolution of the models and adapters goes through here, so the numerics guard decides
/// how it runs. On the Guarded route every convolution is computed as unfold + matrix multiply: the same sums, with no convolution kernel involved in the forward pass
/// or in its gradients (unfold's backward is fold, the product's is two more products).
/// </summary>
public static class GuardedConv
{
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long groups = 1)
    {
        if (weight.dtype != input.dtype || bias is not null && bias.dtype != input.dtype)
        {
            // Weights held narrower than the math (WidenedWeights). When the input needs a gradient, the unfolded
            // product saves the narrow weight rather than a widened copy; otherwise the copy lives for this call only.
            if (WidenedWeights.SavesNarrowWeight(input, weight, bias) && groups == 1 && input.dim() == 4 && !MetaKernels.IsMeta(input))
                return Unfolded(input, weight, bias, stride, padding, dilation);
            weight = weight.to(input.dtype);
            bias = bias?.to(input.dtype);
        }
        // meta has no convolution kernel: the definition, so device-plumbing tests can run the real models there.
        if (MetaKernels.IsMeta(input)) return MetaKernels.Conv2d(input, weight, bias, stride, padding, dilation, groups);
        var guard = NumericsGuard.Current;
        if (guard.Route != ConvRoute.Guarded || groups != 1 || input.device_type != DeviceType.CPU || input.dim() != 4
            || TakesPassedForward(guard, input, weight, bias, stride, padding, dilation))
            return nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups);
        return Unfolded(input, weight, bias, stride, padding, dilation);
    }

    /// <summary>
    /// Smaller spatial sides are where oneDNN's race lives (NaN and run-to-run differences at 2×3 … 6×10 with 2
    /// threads; clean from 16×12 up: shared/reference/cpu-numerics), so a passed class is trusted only above this.
    /// </summary>
    public const long MinTrustedSide = 16;

    /// <summary>LibTorch 2.10's size below which a single fp32 convolution (kernel ≤ 3×3) does not go to oneDNN.</summary>
    const long OneDnnMinInputValues = 20480;

    [ThreadStatic] static int trustPassedForwards;

    /// <summary>Names what <see cref="TrustPassedForwards"/> changes in renders on the Guarded route (null on the others,
    /// where it changes nothing): cell keys and the Evaluate fingerprint carry it.</summary>
    public static string? RenderRoute => NumericsGuard.Current.Route == ConvRoute.Guarded ? "guarded+passed-forwards-2" : null;   // 2: small single convolutions stay unfolded

    /// <summary>
    /// Inside this scope (a render), a convolution that needs no gradient runs on oneDNN when the self-test found its
    /// shape class's forward right on this CPU, it is fp32 with the tested padding (k/2) and no dilation, and both its
    /// spatial sides are at least <see cref="MinTrustedSide"/>. Everything else, and all of training, stays unfolded.
    /// A render's VAE decode at 512 px is most of a grid cell's fixed cost, and oneDNN runs it about 3× faster here.
    /// </summary>
    public static IDisposable TrustPassedForwards()
    {
        trustPassedForwards++;
        return new TrustScope();
    }

    sealed class TrustScope : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            trustPassedForwards--;
        }
    }

    /// <summary>Whether <see cref="Conv2d"/> on the Guarded route hands this convolution to oneDNN (see <see cref="TrustPassedForwards"/>).</summary>
    internal static bool TakesPassedForward(NumericsGuard guard, Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation)
    {
        if (trustPassedForwards == 0 || guard.SelfTest is not { } selfTest) return false;
        if (is_grad_enabled() && (input.requires_grad || weight.requires_grad || bias?.requires_grad == true)) return false;
        if (input.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32) return false;
        long kh = weight.shape[2], kw = weight.shape[3];
        if (kh is not (1 or 3) || kh != kw || stride[0] != stride[1] || padding[0] != kh / 2 || padding[1] != kw / 2 || dilation[0] != 1 || dilation[1] != 1) return false;
        if (input.shape[2] < MinTrustedSide || input.shape[3] < MinTrustedSide) return false;
        // LibTorch hands an fp32 convolution with a kernel up to 3×3 to oneDNN only when the batch is above 1 or the
        // input above 20,480 values; a smaller one runs LibTorch's own kernel (which the self-test did not check),
        // after asking NNPACK, which prints a warning per call on CPUs it does not support. Those stay unfolded.
        if (input.shape[0] == 1 && input.numel() <= OneDnnMinInputValues) return false;
        var cls = new ConvClass(kh == 1, stride[0], input.shape[0] > 1, ConvClass.Align(input.shape[1]), ConvClass.Align(weight.shape[0]));
        return selfTest.Classes.TryGetValue(cls, out var verdict) && verdict.Forward;
    }

    /// <summary>The convolution as im2col (<see cref="Im2Col"/>: the columns unfold gives) and one batched matrix product.</summary>
    public static Tensor Unfolded(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation)
    {
        if (FrozenConv.Applies(input, weight, bias, stride, padding, dilation)) return FrozenConv.Conv2d(input, weight, bias, padding, dilation);
        long n = input.shape[0], outC = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3];
        var (outH, outW) = Im2Col.OutputSize(input.shape[2], input.shape[3], kh, kw, stride, padding, dilation);
        var columns = Im2Col.Columns(input, kh, kw, stride, padding, dilation);
        var y = WidenedWeights.MatMul(weight.reshape(outC, -1), columns);     // [n, outC, outH·outW]
        if (bias is not null) y = y + (bias.dtype == y.dtype ? bias : bias.to(y.dtype)).reshape(1, outC, 1);
        return y.reshape(n, outC, outH, outW);
    }
}
