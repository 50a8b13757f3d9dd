using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// "Euler a": Euler to σ_down, then fresh noise of scale σ_up (k-diffusion <c>sample_euler_ancestral</c> with η = 1,
/// diffusers <c>EulerAncestralDiscreteScheduler</c>): σ_up = √(σ'²(σ²−σ'²)/σ²), σ_down = √(σ'²−σ_up²).
/// Every step draws one <c>randn</c> shaped like the sample, the last one too (scaled by σ_up = 0), as diffusers does,
/// so a seeded generator gives diffusers' images.
/// </summary>
public sealed class EulerAncestralSampler : EulerFamilySampler
{
    /// <inheritdoc cref="EulerFamilySampler(NoiseSchedule?, TimestepSpacing, SigmaInterpolation, int)"/>
    public EulerAncestralSampler(NoiseSchedule? schedule = null, TimestepSpacing spacing = TimestepSpacing.Linspace,
        SigmaInterpolation interpolation = SigmaInterpolation.Log, int stepsOffset = 1)
        : base(schedule, spacing, interpolation, stepsOffset)
    {
    }

    public override string Name => "Euler a";

    public override Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseGenerators? generators = null)
    {
        SamplerChecks.StepIndex(stepIndex, Schedule.Timesteps.Length);
        using var scope = NewDisposeScope();
        var noise = generators is null
            ? SamplerNoise.Randn(modelOutput.shape, modelOutput.dtype, modelOutput.device, null)
            : generators.Randn(modelOutput.shape, modelOutput.dtype, modelOutput.device);
        return StepWithNoise(modelOutput, stepIndex, sample, noise).MoveToOuterDisposeScope();
    }

    /// <summary>The step with the ancestral noise given rather than drawn.</summary>
    public Tensor StepWithNoise(Tensor modelOutput, int stepIndex, Tensor sample, Tensor noise)
    {
        SamplerChecks.StepIndex(stepIndex, Schedule.Timesteps.Length);
        using var scope = NewDisposeScope();
        float sigma = Schedule.Sigmas[stepIndex], sigmaTo = Schedule.Sigmas[stepIndex + 1];
        float sigmaUp = MathF.Sqrt(sigmaTo * sigmaTo * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma));
        float sigmaDown = MathF.Sqrt(MathF.Max(sigmaTo * sigmaTo - sigmaUp * sigmaUp, 0f));
        var x = sample.to(ScalarType.Float32);
        var prev = EulerMove(x, modelOutput, sigma, sigmaDown);
        return (prev + noise.to(ScalarType.Float32).to(prev.device) * sigmaUp).MoveToOuterDisposeScope();
    }
}
