using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>The VAE mid-block's single-head self-attention over all pixels (diffusers Attention with a residual):
/// `group_norm`, `to_q`/`to_k`/`to_v`, `to_out.0`.</summary>
public sealed class VaeAttention : nn.Module<Tensor, Tensor>
{
    readonly GroupNorm group_norm;
    readonly Linear to_q;
    readonly Linear to_k;
    readonly Linear to_v;
    readonly ModuleList<nn.Module<Tensor, Tensor>> to_out;

    public VaeAttention(int channels, VaeConfig c, Device? device = null) : base(nameof(VaeAttention))
    {
        group_norm = GroupNorms.Create(c.NormNumGroups, channels, c.NormEps, device);
        to_q = nn.Linear(channels, channels, device: device);
        to_k = nn.Linear(channels, channels, device: device);
        to_v = nn.Linear(channels, channels, device: device);
        to_out = nn.ModuleList<nn.Module<Tensor, Tensor>>(nn.Linear(channels, channels, device: device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, ch, hgt, wid) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var h = group_norm.Routed(x).view(b, ch, hgt * wid).transpose(1, 2);
        // One head: [B, 1, HW, C]; SDPA scales by 1/sqrt(C) as diffusers does.
        var q = to_q.forward(h).unsqueeze(1);
        var k = to_k.forward(h).unsqueeze(1);
        var v = to_v.forward(h).unsqueeze(1);
        var a = MetaRouting.Attention(q, k, v).squeeze(1);
        var o = to_out[0].forward(a).transpose(1, 2).reshape(b, ch, hgt, wid);
        return (o + x).MoveToOuterDisposeScope();
    }
}
