using LoraBake.Numerics;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// The models' norms, embeddings and attention, routed by device: LibTorch's module forward everywhere except
/// on the <c>meta</c> device, where <see cref="MetaKernels"/> computes the same definition from ops that have
/// meta kernels. This is what lets a whole training step and a render run on meta as a device-plumbing test.
/// </summary>
internal static class MetaRouting
{
    public static Tensor Routed(this GroupNorm norm, Tensor x) => MetaKernels.IsMeta(x)
        ? MetaKernels.GroupNorm(x, norm.num_groups, norm.weight, norm.bias, norm.eps)
        : UNet.BlockProfiler.Op(UNet.BlockProfiler.Norm, x, norm.call);

    public static Tensor Routed(this LayerNorm norm, Tensor x) => MetaKernels.IsMeta(x)
        ? MetaKernels.LayerNorm(x, norm.normalized_shape.Length, norm.weight, norm.bias, norm.eps)
        : UNet.BlockProfiler.Op(UNet.BlockProfiler.Norm, x, norm.call);

    public static Tensor Routed(this Embedding embedding, Tensor ids) => MetaKernels.IsMeta(ids)
        ? MetaKernels.IndexSelect0(embedding.weight!, ids)
        : embedding.call(ids);

    /// <summary>scaled_dot_product_attention (default scale, no dropout), or its definition on meta.</summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, bool causal = false) => MetaKernels.IsMeta(q)
        ? MetaKernels.Attention(q, k, v, causal)
        : UNet.BlockProfiler.Op(UNet.BlockProfiler.Attention, q, qq => nn.functional.scaled_dot_product_attention(qq, k, v, is_casual: causal),
            (qq, _) => 4.0 * qq.numel() * k.shape[^2]);
}
