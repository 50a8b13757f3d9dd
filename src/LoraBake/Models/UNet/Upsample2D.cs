using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' Upsample2D with use_conv: nearest-neighbour resize, then a 3×3 conv. The target size is given so that
/// odd-sized skips (latents not divisible by 2^levels) line up, as diffusers' forward_upsample_size does.
/// </summary>
public sealed class Upsample2D : nn.Module<Tensor, long[]?, Tensor>
{
    private readonly GuardedConv2d conv;

    public Upsample2D(int channels, Device? device = null, ScalarType? dtype = null) : base(nameof(Upsample2D))
    {
        conv = new GuardedConv2d(channels, channels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="outputSize">[H, W] to resize to; null doubles both.</param>
    public override Tensor forward(Tensor hidden, long[]? outputSize)
    {
        using var scope = NewDisposeScope();
        long[] size = outputSize ?? [hidden.shape[2] * 2, hidden.shape[3] * 2];
        var h = nn.functional.interpolate(hidden, size: size, mode: InterpolationMode.Nearest);
        return conv.call(h).MoveToOuterDisposeScope();
    }
}
