using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>diffusers' Downsample2D with use_conv: a 3×3 conv, stride 2, padding 1 (ldm's `op`).</summary>
public sealed class Downsample2D : nn.Module<Tensor, Tensor>
{
    private readonly GuardedConv2d conv;

    public Downsample2D(int channels, Device? device = null, ScalarType? dtype = null) : base(nameof(Downsample2D))
    {
        conv = new GuardedConv2d(channels, channels, 3, stride: 2, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden) => conv.call(hidden);
}
