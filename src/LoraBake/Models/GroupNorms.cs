using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// Creates affine GroupNorms initialised as PyTorch does (weight 1, bias 0). TorchSharp 0.107's nn.GroupNorm
/// leaves its parameters as uninitialised memory, which makes a freshly built model output garbage or NaN.
/// Every model (UNet, VAE) builds its GroupNorms here, so models made from scratch (the built-in tiny model,
/// benchmarks) start right.
/// </summary>
internal static class GroupNorms
{
    public static GroupNorm Create(int groups, int channels, double eps, Device? device, ScalarType? dtype = null)
    {
        var norm = nn.GroupNorm(groups, channels, eps: eps, affine: true, device: device, dtype: dtype);
        using var noGrad = no_grad();
        nn.init.ones_(norm.weight!);
        nn.init.zeros_(norm.bias!);
        return norm;
    }
}
