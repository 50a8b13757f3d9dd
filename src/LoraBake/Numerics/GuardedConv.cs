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
        // meta has no convolution kernel: the definition, so device-plumbing tests can run the real models there.
        if (MetaKernels.IsMeta(input)) return MetaKernels.Conv2d(input, weight, bias, stride, padding, dilation, groups);
        var guard = NumericsGuard.Current;
        if (guard.Route != ConvRoute.Guarded || groups != 1 || input.device_type != DeviceType.CPU || input.dim() != 4)
            return nn.functional.conv2d(input, weight, bias, stride, padding, dilation, groups);
        return Unfolded(input, weight, bias, stride, padding, dilation);
    }

    /// <summary>The convolution as im2col (unfold) and one batched matrix product.</summary>
    public static Tensor Unfolded(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation)
    {
        long n = input.shape[0], h = input.shape[2], w = input.shape[3];
        long outC = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3];
        long outH = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1;
        long outW = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1;
        var columns = nn.functional.unfold(input, (kh, kw), (dilation[0], dilation[1]), (padding[0], padding[1]), (stride[0], stride[1]));
        var y = weight.reshape(outC, -1).matmul(columns);                     // [n, outC, outH·outW]
        if (bias is not null) y = y + bias.reshape(1, outC, 1);
        return y.reshape(n, outC, outH, outW);
    }
}
