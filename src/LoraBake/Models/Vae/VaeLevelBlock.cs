using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>One resolution level of the encoder (DownEncoderBlock2D) or decoder (UpDecoderBlock2D): resnets, then an
/// optional `downsamplers.0` / `upsamplers.0`.</summary>
public sealed class VaeLevelBlock : nn.Module<Tensor, Tensor>
{
    readonly ModuleList<VaeResnetBlock> resnets;
    readonly ModuleList<nn.Module<Tensor, Tensor>>? downsamplers;
    readonly ModuleList<nn.Module<Tensor, Tensor>>? upsamplers;

    VaeLevelBlock(int inChannels, int outChannels, int layers, VaeConfig c, bool down, bool resample, Device? device) : base(down ? "DownEncoderBlock2D" : "UpDecoderBlock2D")
    {
        resnets = nn.ModuleList(Enumerable.Range(0, layers)
            .Select(j => new VaeResnetBlock(j == 0 ? inChannels : outChannels, outChannels, c, device)).ToArray());
        if (resample && down) downsamplers = nn.ModuleList<nn.Module<Tensor, Tensor>>(new VaeDownsample(outChannels, device));
        if (resample && !down) upsamplers = nn.ModuleList<nn.Module<Tensor, Tensor>>(new VaeUpsample(outChannels, device));
        RegisterComponents();
    }

    public static VaeLevelBlock Down(int inChannels, int outChannels, VaeConfig c, bool downsample, Device? device = null) =>
        new(inChannels, outChannels, c.LayersPerBlock, c, down: true, downsample, device);

    /// <summary>The decoder has one more resnet per level than the encoder (ldm's num_res_blocks + 1).</summary>
    public static VaeLevelBlock Up(int inChannels, int outChannels, VaeConfig c, bool upsample, Device? device = null) =>
        new(inChannels, outChannels, c.LayersPerBlock + 1, c, down: false, upsample, device);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x;
        foreach (var r in resnets) h = r.forward(h);
        if (downsamplers is not null) h = downsamplers[0].forward(h);
        if (upsamplers is not null) h = upsamplers[0].forward(h);
        return h.MoveToOuterDisposeScope();
    }
}
