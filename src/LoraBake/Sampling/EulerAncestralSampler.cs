using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// "Euler a": Euler to σ_down, then fresh noise of scale σ_up (k-diffusion <c>sample_euler_ancestral</c> with η = 1,
/// diffusers <c>EulerAncestralDiscreteScheduler</c>): σ_up = √(σ'²(σ²−σ'²)/σ²), σ_down = √(σ'²−σ_up²).
/// Every step draws one <c>randn</c> shaped like the sample, the last one too (scaled by σ_up = 0), as diffusers does,
/// so a seeded generator gives diffusers' images.
/// </summary>
public sealed class EulerAncestralSampler : ISampler
{
    readonly SigmaSchedule _schedule;

    /// <inheritdoc cref="EulerSampler(NoiseSchedule?, TimestepSpacing, SigmaInterpolation, int)"/>
    public EulerAncestralSampler(NoiseSchedule? schedule = null, TimestepSpacing spacing = TimestepSpacing.Linspace,
        SigmaInterpolation interpolation = SigmaInterpolation.Log, int stepsOffset = 1)
    {
        _schedule = new SigmaSchedule(schedule ?? NoiseSchedule.StableDiffusion, spacing, interpolation, stepsOffset);
    }

    public string Name => "Euler a";
    public IReadOnlyList<float> Timesteps => _schedule.Timesteps;
    public IReadOnlyList<float> Sigmas => _schedule.Sigmas;
    public float InitNoiseSigma => _schedule.InitNoiseSigma;
    public void SetTimesteps(int steps) => _schedule.SetTimesteps(steps);
    public Tensor ScaleModelInput(Tensor sample, int stepIndex) => _schedule.ScaleModelInput(sample, stepIndex);

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator = null)
    {
        SamplerChecks.StepIndex(stepIndex, _schedule.Timesteps.Length);
        using var scope = NewDisposeScope();
        var noise = SamplerNoise.Randn(modelOutput.shape, modelOutput.dtype, modelOutput.device, generator);
        return StepWithNoise(modelOutput, stepIndex, sample, noise).MoveToOuterDisposeScope();
    }

    /// <summary>The step with the ancestral noise given rather than drawn.</summary>
    public Tensor StepWithNoise(Tensor modelOutput, int stepIndex, Tensor sample, Tensor noise)
    {
        SamplerChecks.StepIndex(stepIndex, _schedule.Timesteps.Length);
        using var scope = NewDisposeScope();
        float sigma = _schedule.Sigmas[stepIndex], sigmaTo = _schedule.Sigmas[stepIndex + 1];
        float sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma));
        float sigmaDown = MathF.Sqrt(MathF.Max(sigmaTo * sigmaTo - sigmaUp * sigmaUp, 0f));
        var x = sample.to(ScalarType.Float32);
        var predOriginal = x - sigma * modelOutput.to(ScalarType.Float32);
        var derivative = (x - predOriginal) / sigma;
        var prev = x + derivative * (sigmaDown - sigma);
        return (prev + noise.to(ScalarType.Float32).to(prev.device) * sigmaUp).MoveToOuterDisposeScope();
    }
}
