using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// Composite formulations, used only for tensors on the <c>meta</c> device, of the ops LibTorch 2.10's C++ build
/// has no meta kernel for (PyTorch registers those in Python, which TorchSharp never loads). Measured with a probe:
/// convolution, im2col, group_norm, layer_norm (native_batch_norm), scaled_dot_product_attention (where),
/// index_select (so embedding), mse_loss's backward, abs (so isfinite) and var_mean fail on meta; pad, slicing, einsum, matmul,
/// softmax, mean, rsqrt, masked_fill, advanced indexing and their backwards work. Every formulation here is the
/// textbook definition of the op, built only from those, so a model on meta runs its real forward and backward
/// and any tensor made on another device fails with "expected all tensors to be on the same device".
/// CPU and CUDA tensors never come here: their results are LibTorch's kernels, unchanged.
/// </summary>
public static class MetaKernels
{
    public static bool IsMeta(Tensor t) => t.device_type == DeviceType.META;

    /// <summary>conv2d as a sum over kernel offsets of a strided slice of the padded input times that offset's weights.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation, long groups)
    {
        if (groups != 1) throw new NotSupportedException("grouped convolutions have no meta formulation here (SD 1.x has none)");
        long h = input.shape[2], w = input.shape[3], kh = weight.shape[2], kw = weight.shape[3];
        long outH = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) / stride[0] + 1;
        long outW = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) / stride[1] + 1;
        var padded = nn.functional.pad(input, [padding[1], padding[1], padding[0], padding[0]]);
        Tensor? y = null;
        for (long ky = 0; ky < kh; ky++)
        for (long kx = 0; kx < kw; kx++)
        {
            long y0 = ky * dilation[0], x0 = kx * dilation[1];
            var window = padded.slice(2, y0, y0 + (outH - 1) * stride[0] + 1, stride[0])
                .slice(3, x0, x0 + (outW - 1) * stride[1] + 1, stride[1]);            // [n, inC, outH, outW]
            var tap = einsum("nchw,oc->nohw", window, weight.select(3, kx).select(2, ky));
            y = y is null ? tap : y + tap;
        }
        if (bias is not null) y = y! + bias.reshape(1, -1, 1, 1);
        return y!;
    }

    /// <summary>group_norm: per (sample, group) mean and biased variance, then the per-channel affine.</summary>
    public static Tensor GroupNorm(Tensor x, long groups, Tensor? weight, Tensor? bias, double eps)
    {
        var shape = x.shape;
        var g = x.reshape(shape[0], groups, -1);
        var normed = Normalize(g, eps).reshape(shape);
        var affine = new long[shape.Length];
        Array.Fill(affine, 1L);
        affine[1] = shape[1];
        if (weight is not null) normed = normed * weight.reshape(affine);
        if (bias is not null) normed = normed + bias.reshape(affine);
        return normed;
    }

    /// <summary>layer_norm over the last <paramref name="normalizedDims"/> dimensions.</summary>
    public static Tensor LayerNorm(Tensor x, int normalizedDims, Tensor? weight, Tensor? bias, double eps)
    {
        var shape = x.shape;
        var lead = shape.Take(shape.Length - normalizedDims).ToArray();
        var normed = Normalize(x.reshape([.. lead, -1]), eps).reshape(shape);
        if (weight is not null) normed = normed * weight;
        if (bias is not null) normed = normed + bias;
        return normed;
    }

    static Tensor Normalize(Tensor x, double eps)
    {
        var centred = x - x.mean([-1], keepdim: true);
        var variance = (centred * centred).mean([-1], keepdim: true);
        return centred * (variance + eps).rsqrt();
    }

    /// <summary>softmax(q·kᵀ/√d)·v, with the lower-triangular mask when <paramref name="causal"/>.</summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, bool causal = false)
    {
        var scores = q.matmul(k.transpose(-2, -1)) * (1.0 / Math.Sqrt(q.shape[^1]));
        if (causal)
        {
            long tq = q.shape[^2], tk = k.shape[^2];
            var future = ones(tq, tk, ScalarType.Bool, q.device).triu(1);
            scores = scores.masked_fill(future, double.NegativeInfinity);
        }
        return scores.softmax(-1).matmul(v);
    }

    /// <summary>|x| as x·sign(x) (abs has no meta kernel; sign does).</summary>
    public static Tensor Abs(Tensor x) => x * x.sign();

    /// <summary>mse_loss without reduction, (a − b)², whose backward has no meta kernel either.</summary>
    public static Tensor SquaredError(Tensor a, Tensor b)
    {
        var d = a - b;
        return d * d;
    }

    /// <summary>index_select along dimension 0 as advanced indexing (the same gather).</summary>
    public static Tensor IndexSelect0(Tensor source, Tensor index) => source[index];
}
