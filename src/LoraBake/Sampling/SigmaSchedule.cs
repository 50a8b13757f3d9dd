using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// The timesteps and σ of the Euler family (diffusers <c>Euler(Ancestral)DiscreteScheduler.set_timesteps</c>):
/// σᵢ = σ(tᵢ) from the training table, then a final 0; float32 like diffusers. The initial noise is σ₀ for
/// linspace/trailing and √(σ₀²+1) for leading, as diffusers' <c>init_noise_sigma</c>.
/// </summary>
internal sealed class SigmaSchedule
{
    readonly NoiseSchedule _noise;
    readonly SigmaTable _table;
    readonly TimestepSpacing _spacing;
    readonly SigmaInterpolation _interpolation;
    readonly int _stepsOffset;

    public SigmaSchedule(NoiseSchedule noise, TimestepSpacing spacing, SigmaInterpolation interpolation, int stepsOffset)
    {
        _noise = noise;
        _table = new SigmaTable(noise);
        _spacing = spacing;
        _interpolation = interpolation;
        _stepsOffset = stepsOffset;
    }

    public float[] Timesteps { get; private set; } = [];
    public float[] Sigmas { get; private set; } = [];
    public float InitNoiseSigma { get; private set; } = 1f;

    public void SetTimesteps(int steps)
    {
        // numpy computes in float64 and stores float32; σ is interpolated at the float32 timestep.
        var t = TimestepSpacings.Compute(_spacing, _noise.NumTrainTimesteps, steps, _stepsOffset, integer: false)
            .Select(v => (float)v).ToArray();
        if (t.Any(v => v < 0 || v > _noise.NumTrainTimesteps - 1))
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"{_spacing} spacing with offset {_stepsOffset} leaves the training range for {steps} steps");
        Timesteps = t;
        Sigmas = t.Select(v => (float)_table.SigmaAt(v, _interpolation)).Append(0f).ToArray();
        float maxSigma = Sigmas.Max();
        InitNoiseSigma = _spacing == TimestepSpacing.Leading ? MathF.Sqrt(maxSigma * maxSigma + 1f) : maxSigma;
    }

    public Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        SamplerChecks.StepIndex(stepIndex, Timesteps.Length);
        float sigma = Sigmas[stepIndex];
        return sample / MathF.Sqrt(sigma * sigma + 1f);
    }
}
