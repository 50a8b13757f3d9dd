using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>diffusers Encoder: conv_in, down_blocks, mid_block, conv_norm_out → SiLU → conv_out (2 × latent channels: mean and logvar).</summary>
public sealed class VaeEncoder : nn.Module<Tensor, Tensor>
{
    readonly GuardedConv2d conv_in;
    readonly ModuleList<VaeLevelBlock> down_blocks;
    readonly VaeMidBlock mid_block;
    readonly GroupNorm conv_norm_out;
    readonly GuardedConv2d conv_out;

    public VaeEncoder(VaeConfig c, Device? device = null) : base(nameof(VaeEncoder))
    {
        var ch = c.BlockOutChannels;
        conv_in = new GuardedConv2d(c.InChannels, ch[0], 3, padding: 1, device: device);
        down_blocks = nn.ModuleList(Enumerable.Range(0, ch.Length)
            .Select(i => VaeLevelBlock.Down(i == 0 ? ch[0] : ch[i - 1], ch[i], c, downsample: i < ch.Length - 1, device)).ToArray());
        mid_block = new VaeMidBlock(ch[^1], c, device);
        conv_norm_out = GroupNorms.Create(c.NormNumGroups, ch[^1], c.NormEps, device);
        conv_out = new GuardedConv2d(ch[^1], 2 * c.LatentChannels, 3, padding: 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv_in.forward(x);
        foreach (var b in down_blocks) h = b.forward(h);
        h = mid_block.forward(h);
        return conv_out.forward(nn.functional.silu(conv_norm_out.Routed(h))).MoveToOuterDisposeScope();
    }
}
