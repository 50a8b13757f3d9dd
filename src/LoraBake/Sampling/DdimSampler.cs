using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// DDIM with η = 0 (deterministic), as diffusers' <c>DDIMScheduler</c> with <c>set_alpha_to_one=False</c>:
/// x̂₀ = (x − √(1−ᾱₜ)·ε)/√ᾱₜ, x ← √ᾱ_prev·x̂₀ + √(1−ᾱ_prev)·ε, where prev = t − T // n and ᾱ_prev = ᾱ₀ below 0.
/// The default spacing (leading, offset 1: 901…1 for 10 steps) is A1111's DDIM.
/// </summary>
public sealed class DdimSampler : ISampler
{
    readonly NoiseSchedule _schedule;
    readonly TimestepSpacing _spacing;
    readonly int _stepsOffset;
    int[] _timesteps = [];
    int _steps;

    public DdimSampler(NoiseSchedule? schedule = null, TimestepSpacing spacing = TimestepSpacing.Leading, int stepsOffset = 1)
    {
        _schedule = schedule ?? NoiseSchedule.StableDiffusion;
        _spacing = spacing;
        _stepsOffset = stepsOffset;
    }

    public string Name => "DDIM";
    public IReadOnlyList<float> Timesteps => _timesteps.Select(t => (float)t).ToArray();
    public IReadOnlyList<float> Sigmas => [];
    public float InitNoiseSigma => 1.0f;

    public void SetTimesteps(int steps)
    {
        _steps = steps;
        _timesteps = TimestepSpacings.Compute(_spacing, _schedule.NumTrainTimesteps, steps, _stepsOffset, integer: true)
            .Select(t => (int)t).ToArray();
        if (_timesteps.Any(t => t < 0 || t >= _schedule.NumTrainTimesteps))
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"{_spacing} spacing with offset {_stepsOffset} leaves the training range for {steps} steps");
    }

    public Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        SamplerChecks.StepIndex(stepIndex, _timesteps.Length);
        return sample.alias();
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseGenerators? generators = null)
    {
        SamplerChecks.StepIndex(stepIndex, _timesteps.Length);
        using var scope = NewDisposeScope();
        int t = _timesteps[stepIndex];
        int prev = t - _schedule.NumTrainTimesteps / _steps;
        float alphaProdT = _schedule.AlphasCumprod[t];
        float alphaProdPrev = prev >= 0 ? _schedule.AlphasCumprod[prev] : _schedule.AlphasCumprod[0];
        float betaProdT = 1f - alphaProdT;
        var eps = modelOutput.to(ScalarType.Float32);
        var x = sample.to(ScalarType.Float32);
        // Float32 scalars in diffusers' order, so the result tracks the reference to rounding.
        var predOriginal = (x - MathF.Sqrt(betaProdT) * eps) / MathF.Sqrt(alphaProdT);
        var direction = MathF.Sqrt(1f - alphaProdPrev) * eps;
        return (MathF.Sqrt(alphaProdPrev) * predOriginal + direction).MoveToOuterDisposeScope();
    }
}
