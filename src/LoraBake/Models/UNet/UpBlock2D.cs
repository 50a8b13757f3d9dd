using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' UpBlock2D: per resnet, concatenate the latest skip on channels and run the resnet; then an optional
/// upsampler. Resnet j takes prevOutput (j = 0) or out channels, plus the skip's channels (inChannels for the last).
/// </summary>
public sealed class UpBlock2D : UNetUpBlock
{
    private readonly ModuleList<ResnetBlock2D> resnets;
    private readonly ModuleList<Upsample2D>? upsamplers;

    public UpBlock2D(int inChannels, int prevOutputChannels, int outChannels, int tembChannels, int numLayers,
        bool addUpsample, int groups, double eps, Device? device = null, ScalarType? dtype = null) : base(nameof(UpBlock2D))
    {
        resnets = nn.ModuleList(Enumerable.Range(0, numLayers)
            .Select(j => new ResnetBlock2D(UpResnetInChannels(j, numLayers, inChannels, prevOutputChannels, outChannels),
                outChannels, tembChannels, groups, eps, device, dtype))
            .ToArray());
        if (addUpsample) upsamplers = nn.ModuleList(new Upsample2D(outChannels, device, dtype));
        RegisterComponents();
    }

    /// <summary>Input channels of up-block resnet j: the running tensor's channels + its skip's channels.</summary>
    internal static int UpResnetInChannels(int j, int numLayers, int inChannels, int prevOutputChannels, int outChannels) =>
        (j == 0 ? prevOutputChannels : outChannels) + (j == numLayers - 1 ? inChannels : outChannels);

    public override int ResnetCount => resnets.Count;

    public override Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor context, long[]? upsampleSize)
    {
        using var scope = NewDisposeScope();
        var h = hidden;
        for (int j = 0; j < resnets.Count; j++)
        {
            h = cat([h, skips[skips.Count - 1 - j]], dim: 1);
            h = resnets[j].call(h, temb);
        }
        if (upsamplers is not null) h = upsamplers[0].call(h, upsampleSize);
        return h.MoveToOuterDisposeScope();
    }
}
