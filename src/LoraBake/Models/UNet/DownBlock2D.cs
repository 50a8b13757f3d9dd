using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>diffusers' DownBlock2D: resnets, then an optional downsampler; no attention.</summary>
public sealed class DownBlock2D : UNetDownBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Downsample2D>? downsamplers;

    public DownBlock2D(int inChannels, int outChannels, int tembChannels, int numLayers, bool addDownsample,
        int groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(DownBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, numLayers)
            .Select(j => new ResnetBlock2D(j == 0 ? inChannels : outChannels, outChannels, tembChannels, groups, eps, device, dtype))
            .ToArray());
        if (addDownsample) downsamplers = nn.ModuleList(new Downsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor[] Skips) forward(Tensor hidden, Tensor temb, Tensor context)
    {
        using var scope = NewDisposeScope();
        var skips = new List<Tensor>();
        var h = hidden;
        foreach (var resnet in resnets)
        {
            h = resnet.call(h, temb);
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
