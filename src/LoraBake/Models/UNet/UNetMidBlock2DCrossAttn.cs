using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' UNetMidBlock2DCrossAttn: resnet → Transformer2DModel → resnet. Without cross-attention it is
/// resnet → resnet, the parameter layout of diffusers' UNetMidBlock2D(add_attention=False).
/// </summary>
public sealed class UNetMidBlock2DCrossAttn : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;

    public UNetMidBlock2DCrossAttn(int channels, int tembChannels, int groups, double eps, bool crossAttention,
        int heads, int crossAttentionDim, int transformerDepth, Device? device = null, ScalarType? dtype = null)
        : base(nameof(UNetMidBlock2DCrossAttn))
    {
        resnets = nn.ModuleList(
            new ResnetBlock2D(channels, channels, tembChannels, groups, eps, device, dtype),
            new ResnetBlock2D(channels, channels, tembChannels, groups, eps, device, dtype));
        attentions = crossAttention
            ? nn.ModuleList(new Transformer2DModel(heads, channels / heads, channels, transformerDepth, crossAttentionDim,
                groups, device, dtype))
            : nn.ModuleList<Transformer2DModel>();
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor temb, Tensor context)
    {
        using var scope = NewDisposeScope();
        var h = resnets[0].call(hidden, temb);
        if (attentions.Count > 0) h = attentions[0].call(h, context);
        h = resnets[1].call(h, temb);
        return h.MoveToOuterDisposeScope();
    }
}
