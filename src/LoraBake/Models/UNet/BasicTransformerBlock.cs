using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' BasicTransformerBlock (norm_type "layer_norm"): pre-LayerNorm self-attention, cross-attention and
/// GEGLU feed-forward, each added back to the residual stream.
/// </summary>
public sealed class BasicTransformerBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn1;
    private readonly LayerNorm norm2;
    private readonly Attention attn2;
    private readonly LayerNorm norm3;
    private readonly FeedForward ff;

    public BasicTransformerBlock(int dim, int heads, int dimHead, int crossAttentionDim,
        Device? device = null, ScalarType? dtype = null) : base(nameof(BasicTransformerBlock))
    {
        norm1 = nn.LayerNorm(dim, eps: 1e-5, device: device, dtype: dtype);
        attn1 = new Attention(dim, null, heads, dimHead, device, dtype);
        norm2 = nn.LayerNorm(dim, eps: 1e-5, device: device, dtype: dtype);
        attn2 = new Attention(dim, crossAttentionDim, heads, dimHead, device, dtype);
        norm3 = nn.LayerNorm(dim, eps: 1e-5, device: device, dtype: dtype);
        ff = new FeedForward(dim, 4, device, dtype);
        RegisterComponents();
    }

    /// <param name="hidden">[B, H·W, dim]</param>
    /// <param name="context">[B, tokens, crossAttentionDim]</param>
    public override Tensor forward(Tensor hidden, Tensor context)
    {
        using var scope = NewDisposeScope();
        var h = attn1.call(norm1.Routed(hidden), null) + hidden;
        h = attn2.call(norm2.Routed(h), context) + h;
        h = ff.call(norm3.Routed(h)) + h;
        return h.MoveToOuterDisposeScope();
    }
}
