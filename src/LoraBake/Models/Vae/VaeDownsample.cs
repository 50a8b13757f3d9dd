using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>VAE Downsample2D: pad right and bottom by one, then a stride-2 3×3 conv without padding (ldm's asymmetric padding).</summary>
public sealed class VaeDownsample : nn.Module<Tensor, Tensor>
{
    readonly GuardedConv2d conv;

    public VaeDownsample(int channels, Device? device = null) : base(nameof(VaeDownsample))
    {
        conv = new GuardedConv2d(channels, channels, 3, stride: 2, padding: 0L, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var padded = nn.functional.pad(x, new long[] { 0, 1, 0, 1 }, PaddingModes.Constant, 0);
        return conv.forward(padded).MoveToOuterDisposeScope();
    }
}
