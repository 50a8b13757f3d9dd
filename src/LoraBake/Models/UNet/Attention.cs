using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' Attention with AttnProcessor2_0: multi-head scaled-dot-product attention. Self-attention when no
/// context is given (attn1), cross-attention over the text encoder's hidden states otherwise (attn2).
/// to_q/to_k/to_v have no bias; to_out is [Linear with bias, Dropout] so the output layer is named `to_out.0`.
/// </summary>
public sealed class Attention : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly GuardedLinear to_q;
    private readonly GuardedLinear to_k;
    private readonly GuardedLinear to_v;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;
    private readonly int heads;

    public Attention(int queryDim, int? crossAttentionDim, int heads, int dimHead,
        Device? device = null, ScalarType? dtype = null) : base(nameof(Attention))
    {
        int inner = heads * dimHead;
        int contextDim = crossAttentionDim ?? queryDim;
        this.heads = heads;
        to_q = new GuardedLinear(queryDim, inner, hasBias: false, device: device, dtype: dtype);
        to_k = new GuardedLinear(contextDim, inner, hasBias: false, device: device, dtype: dtype);
        to_v = new GuardedLinear(contextDim, inner, hasBias: false, device: device, dtype: dtype);
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            new GuardedLinear(inner, queryDim, hasBias: true, device: device, dtype: dtype),
            nn.Dropout(0.0));
        RegisterComponents();
    }

    /// <param name="hidden">[B, N, queryDim]</param>
    /// <param name="context">[B, M, crossAttentionDim], or null for self-attention.</param>
    public override Tensor forward(Tensor hidden, Tensor? context)
    {
        using var scope = NewDisposeScope();
        context ??= hidden;
        long batch = hidden.shape[0];
        var q = to_q.call(hidden);
        var k = to_k.call(context);
        var v = to_v.call(context);
        long headDim = q.shape[^1] / heads;
        // [B, N, heads·d] → [B, heads, N, d]
        Tensor SplitHeads(Tensor x) => x.view(batch, -1, heads, headDim).transpose(1, 2);
        var o = MetaRouting.Attention(SplitHeads(q), SplitHeads(k), SplitHeads(v));
        o = o.transpose(1, 2).reshape(batch, -1, heads * headDim);
        foreach (var layer in to_out) o = layer.call(o);
        return o.MoveToOuterDisposeScope();
    }
}
