using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>diffusers UNetMidBlock2D as the VAE uses it: resnet, single-head attention, resnet.</summary>
public sealed class VaeMidBlock : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<VaeResnetBlock> resnets;
    readonly ModuleList<VaeAttention> attentions;

    public VaeMidBlock(int channels, VaeConfig c, Device? device = null) : base(nameof(VaeMidBlock))
    {
        resnets = nn.ModuleList(new VaeResnetBlock(channels, channels, c, device), new VaeResnetBlock(channels, channels, c, device));
        attentions = nn.ModuleList(new VaeAttention(channels, c, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = resnets[0].forward(x);
        h = attentions[0].forward(h);
        return resnets[1].forward(h).MoveToOuterDisposeScope();
    }
}
