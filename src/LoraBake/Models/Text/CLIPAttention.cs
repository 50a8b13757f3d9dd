using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>transformers' CLIPAttention: multi-head self-attention with q/k/v/out projections, causal in CLIP's text model.</summary>
public sealed class CLIPAttention : nn.Module<Tensor, Tensor>
{
    readonly int _heads;
    readonly int _headDim;
#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly GuardedLinear q_proj, k_proj, v_proj, out_proj;
#pragma warning restore IDE1006

    public CLIPAttention(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(CLIPAttention))
    {
        _heads = config.NumAttentionHeads;
        _headDim = config.HeadDim;
        int d = config.HiddenSize;
        q_proj = new GuardedLinear(d, d, hasBias: true, device: device, dtype: dtype);
        k_proj = new GuardedLinear(d, d, hasBias: true, device: device, dtype: dtype);
        v_proj = new GuardedLinear(d, d, hasBias: true, device: device, dtype: dtype);
        out_proj = new GuardedLinear(d, d, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        Tensor Heads(Tensor x) => x.view(b, t, _heads, _headDim).transpose(1, 2);
        var q = Heads(q_proj.call(hidden));
        var k = Heads(k_proj.call(hidden));
        var v = Heads(v_proj.call(hidden));
        // is_causal applies the same lower-triangular mask as transformers' _create_4d_causal_attention_mask.
        var attn = MetaRouting.Attention(q, k, v, causal: true);
        var merged = attn.transpose(1, 2).reshape(b, t, _heads * _headDim);
        return out_proj.call(merged).MoveToOuterDisposeScope();
    }
}
