using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>diffusers Decoder: conv_in, mid_block, up_blocks (deepest level first), conv_norm_out → SiLU → conv_out.</summary>
public sealed class VaeDecoder : nn.Module<Tensor, Tensor>
{
    readonly GuardedConv2d conv_in;
    readonly VaeMidBlock mid_block;
    readonly ModuleList<VaeLevelBlock> up_blocks;
    readonly GroupNorm conv_norm_out;
    readonly GuardedConv2d conv_out;

    public VaeDecoder(VaeConfig c, Device? device = null) : base(nameof(VaeDecoder))
    {
        var rev = c.BlockOutChannels.Reverse().ToArray();
        conv_in = new GuardedConv2d(c.LatentChannels, rev[0], 3, padding: 1, device: device);
        mid_block = new VaeMidBlock(rev[0], c, device);
        up_blocks = nn.ModuleList(Enumerable.Range(0, rev.Length)
            .Select(i => VaeLevelBlock.Up(i == 0 ? rev[0] : rev[i - 1], rev[i], c, upsample: i < rev.Length - 1, device)).ToArray());
        conv_norm_out = GroupNorms.Create(c.NormNumGroups, rev[^1], c.NormEps, device);
        conv_out = new GuardedConv2d(rev[^1], c.OutChannels, 3, padding: 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor z)
    {
        using var scope = NewDisposeScope();
        var h = conv_in.forward(z);
        h = mid_block.forward(h);
        foreach (var b in up_blocks) h = b.forward(h);
        return conv_out.forward(nn.functional.silu(conv_norm_out.Routed(h))).MoveToOuterDisposeScope();
    }
}
