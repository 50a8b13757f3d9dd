using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>VAE Upsample2D: nearest-neighbour ×2, then a 3×3 conv.</summary>
public sealed class VaeUpsample : nn.Module<Tensor, Tensor>
{
    readonly GuardedConv2d conv;

    public VaeUpsample(int channels, Device? device = null) : base(nameof(VaeUpsample))
    {
        conv = new GuardedConv2d(channels, channels, 3, padding: 1, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var up = nn.functional.interpolate(x, scale_factor: new double[] { 2, 2 }, mode: InterpolationMode.Nearest);
        return conv.forward(up).MoveToOuterDisposeScope();
    }
}
