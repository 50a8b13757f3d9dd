using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>The VAE posterior N(mean, exp(logvar)) with logvar clamped to [-30, 20] as diffusers' DiagonalGaussianDistribution. Owns its tensors.</summary>
public sealed class DiagonalGaussian : IDisposable
{
    public Tensor Mean { get; }
    public Tensor LogVar { get; }
    public Tensor Std { get; }

    /// <summary>Splits encoder moments [B, 2C, H, W] into mean and logvar.</summary>
    public DiagonalGaussian(Tensor moments)
    {
        using var scope = NewDisposeScope();
        var parts = moments.chunk(2, 1);
        Mean = parts[0].contiguous().MoveToOuterDisposeScope();
        LogVar = parts[1].clamp(-30.0, 20.0).MoveToOuterDisposeScope();
        Std = (LogVar * 0.5).exp().MoveToOuterDisposeScope();
    }

    /// <summary>mean + std · ε, ε ~ N(0, 1) drawn from <paramref name="generator"/> (same stream as torch.randn with that generator).</summary>
    public Tensor Sample(Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        // Drawn on the generator's device (the CPU for seeded draws), then moved: the same numbers on every device.
        var eps = randn(Mean.shape, dtype: Mean.dtype, device: generator?.device ?? Mean.device, generator: generator).to(Mean.device);
        return (Mean + Std * eps).MoveToOuterDisposeScope();
    }

    /// <summary>The mode (= mean), what "deterministic" latent caching uses.</summary>
    public Tensor Mode() => Mean.alias();

    public void Dispose()
    {
        Mean.Dispose();
        LogVar.Dispose();
        Std.Dispose();
    }
}
