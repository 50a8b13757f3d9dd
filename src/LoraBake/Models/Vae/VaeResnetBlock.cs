using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>diffusers ResnetBlock2D without a time embedding: GroupNorm → SiLU → conv ×2, plus a 1×1 `conv_shortcut` when channels change.</summary>
public sealed class VaeResnetBlock : nn.Module<Tensor, Tensor>
{
    readonly GroupNorm norm1;
    readonly GuardedConv2d conv1;
    readonly GroupNorm norm2;
    readonly GuardedConv2d conv2;
    readonly GuardedConv2d? conv_shortcut;

    public VaeResnetBlock(int inChannels, int outChannels, VaeConfig c, Device? device = null) : base(nameof(VaeResnetBlock))
    {
        norm1 = GroupNorms.Create(c.NormNumGroups, inChannels, c.NormEps, device);
        conv1 = new GuardedConv2d(inChannels, outChannels, 3, padding: 1, device: device);
        norm2 = GroupNorms.Create(c.NormNumGroups, outChannels, c.NormEps, device);
        conv2 = new GuardedConv2d(outChannels, outChannels, 3, padding: 1, device: device);
        if (inChannels != outChannels) conv_shortcut = new GuardedConv2d(inChannels, outChannels, 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = conv1.forward(nn.functional.silu(norm1.Routed(x)));
        h = conv2.forward(nn.functional.silu(norm2.Routed(h)));
        var skip = conv_shortcut is null ? x : conv_shortcut.forward(x);
        return (skip + h).MoveToOuterDisposeScope();
    }
}
