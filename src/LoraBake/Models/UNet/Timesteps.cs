using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' Timesteps: sinusoidal embedding of (possibly fractional) timesteps, computed in float32.
/// exponent_k = -ln(10000)·k / (half − freq_shift); flip_sin_to_cos puts cos first (SD1 does).
/// Has no parameters.
/// </summary>
public sealed class Timesteps : nn.Module<Tensor, Tensor>
{
    private readonly int numChannels;
    private readonly bool flipSinToCos;
    private readonly double freqShift;

    public Timesteps(int numChannels, bool flipSinToCos = true, double freqShift = 0) : base(nameof(Timesteps))
    {
        if (numChannels % 2 != 0) throw new ArgumentException($"Timesteps needs an even channel count, got {numChannels}.");
        this.numChannels = numChannels;
        this.flipSinToCos = flipSinToCos;
        this.freqShift = freqShift;
        RegisterComponents();
    }

    /// <param name="timesteps">[B], int64 or floating point.</param>
    /// <returns>[B, numChannels] float32.</returns>
    public override Tensor forward(Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        int half = numChannels / 2;
        var exponent = arange(0, half, dtype: ScalarType.Float32, device: timesteps.device) * (-Math.Log(10000) / (half - freqShift));
        var emb = timesteps.to(ScalarType.Float32).unsqueeze(1) * exponent.exp().unsqueeze(0);
        emb = flipSinToCos ? cat([emb.cos(), emb.sin()], dim: -1) : cat([emb.sin(), emb.cos()], dim: -1);
        return emb.MoveToOuterDisposeScope();
    }
}
