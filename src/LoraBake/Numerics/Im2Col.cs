using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// im2col: a convolution's input laid out as the columns of a matrix product, [n, C·kh·kw, outH·outW], in the order
/// <c>nn.functional.unfold</c> gives (channel, kernel row, kernel column). Built as kh·kw strided slices of the padded
/// input stacked together: the same values as unfold, bit for bit, copied about ten times faster than LibTorch's
/// im2col kernel copies them (SD1.5's 320 channels at 64×64 in bf16: 1.4 ms against 14.8 ms, 2-core AMD EPYC fam. 26).
/// Its gradient is the slices' own (a strided add per kernel position) instead of col2im, about five times faster.
/// </summary>
public static class Im2Col
{
    /// <summary>The convolution's output size (outH, outW) for an input of <paramref name="h"/>×<paramref name="w"/>.</summary>
    public static (long H, long W) OutputSize(long h, long w, long kh, long kw, long[] stride, long[] padding, long[] dilation) =>
        ((h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1,
         (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1);

    public static Tensor Columns(Tensor input, long kh, long kw, long[] stride, long[] padding, long[] dilation)
    {
        long n = input.shape[0], c = input.shape[1];
        var (outH, outW) = OutputSize(input.shape[2], input.shape[3], kh, kw, stride, padding, dilation);
        // A 1×1 kernel at stride 1 without padding needs no copy: the input's [n, C, H·W] view holds exactly these
        // columns (and its gradient is the same view back), bit for bit.
        if (kh == 1 && kw == 1 && stride.All(s => s == 1) && padding.All(p => p == 0)) return input.reshape(n, c, outH * outW);
        var padded = padding[0] == 0 && padding[1] == 0 ? input : nn.functional.pad(input, [padding[1], padding[1], padding[0], padding[0]]);
        var taps = new List<Tensor>((int)(kh * kw));
        for (long i = 0; i < kh; i++)
            for (long j = 0; j < kw; j++)
            {
                long top = i * dilation[0], left = j * dilation[1];
                taps.Add(padded.slice(2, top, top + stride[0] * (outH - 1) + 1, stride[0])
                               .slice(3, left, left + stride[1] * (outW - 1) + 1, stride[1]));
            }
        return stack(taps, 2).reshape(n, c * kh * kw, outH * outW);
    }
}
