using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>diffusers' CrossAttnDownBlock2D: (resnet → Transformer2DModel) pairs, then an optional downsampler.</summary>
public sealed class CrossAttnDownBlock2D : UNetDownBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Transformer2DModel> attentions;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public CrossAttnDownBlock2D(int inChannels, int outChannels, int tembChannels, int numLayers, bool addDownsample,
        int groups, double eps, int heads, int crossAttentionDim, int transformerDepth,
        Device? device = null, ScalarType? dtype = null) : base(nameof(CrossAttnDownBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, numLayers)
            .Select(j => new ResnetBlock2D(j == 0 ? inChannels : outChannels, outChannels, tembChannels, groups, eps, device, dtype))
            .ToArray());
        attentions = nn.ModuleList(Enumerable.Range(0, numLayers)
            .Select(_ => new Transformer2DModel(heads, outChannels / heads, outChannels, transformerDepth, crossAttentionDim,
                groups, device, dtype))
            .ToArray());
        if (addDownsample) downsamplers = nn.ModuleList(new Downsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor[] Skips) forward(Tensor hidden, Tensor temb, Tensor context)
    {
        using var scope = NewDisposeScope();
        var skips = new List<Tensor>();
        var h = hidden;
        for (int j = 0; j < resnets.Count; j++)
        {
            h = resnets[j].call(h, temb);
            h = attentions[j].call(h, context);
            skips.Add(h);
        }
        if (downsamplers is not null)
        {
            h = downsamplers[0].call(h);
            skips.Add(h);
        }
        foreach (var s in skips) s.MoveToOuterDisposeScope();
        return (h.MoveToOuterDisposeScope(), skips.ToArray());
    }
}
