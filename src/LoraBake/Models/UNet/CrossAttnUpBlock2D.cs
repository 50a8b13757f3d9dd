using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>diffusers' CrossAttnUpBlock2D: like <see cref="UpBlock2D"/> with a Transformer2DModel after each resnet.</summary>
public sealed class CrossAttnUpBlock2D : UNetUpBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Upsample2D>? upsamplers;

    public CrossAttnUpBlock2D(int inChannels, int prevOutputChannels, int outChannels, int tembChannels, int numLayers,
        bool addUpsample, int groups, double eps, int heads, int crossAttentionDim, int transformerDepth,
        Device? device = null, ScalarType? dtype = null) : base(nameof(CrossAttnUpBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, numLayers)
            .Select(j => new ResnetBlock2D(UpBlock2D.UpResnetInChannels(j, numLayers, inChannels, prevOutputChannels, outChannels),
                outChannels, tembChannels, groups, eps, device, dtype))
            .ToArray());
        attentions = nn.ModuleList(Enumerable.Range(0, numLayers)
            .Select(_ => new Transformer2DModel(heads, outChannels / heads, outChannels, transformerDepth, crossAttentionDim,
                groups, device, dtype))
            .ToArray());
        if (addUpsample) upsamplers = nn.ModuleList(new Upsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override int ResnetCount => resnets.Count;

    public override Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor context, long[]? upsampleSize)
    {
        using var scope = NewDisposeScope();
        var h = hidden;
        for (int j = 0; j < resnets.Count; j++)
        {
            h = cat([h, skips[skips.Count - 1 - j]], dim: 1);
            h = resnets[j].call(h, temb);
            h = attentions[j].call(h, context);
        }
        if (upsamplers is not null) h = upsamplers[0].call(h, upsampleSize);
        return h.MoveToOuterDisposeScope();
    }
}
