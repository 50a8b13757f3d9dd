using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// Euler's method on the probability-flow ODE in σ (Karras et al. 2022, k-diffusion <c>sample_euler</c>,
/// diffusers <c>EulerDiscreteScheduler</c> with s_churn 0): x ← x + ε·(σ' − σ), model input x/√(σ²+1).
/// </summary>
public sealed class EulerSampler : EulerFamilySampler
{
    /// <inheritdoc cref="EulerFamilySampler(NoiseSchedule?, TimestepSpacing, SigmaInterpolation, int)"/>
    public EulerSampler(NoiseSchedule? schedule = null, TimestepSpacing spacing = TimestepSpacing.Linspace,
        SigmaInterpolation interpolation = SigmaInterpolation.Log, int stepsOffset = 1)
        : base(schedule, spacing, interpolation, stepsOffset)
    {
    }

    public override string Name => "Euler";

    public override Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseGenerators? generators = null)
    {
        SamplerChecks.StepIndex(stepIndex, Schedule.Timesteps.Length);
        using var scope = NewDisposeScope();
        float sigma = Schedule.Sigmas[stepIndex], sigmaNext = Schedule.Sigmas[stepIndex + 1];
        var x = sample.to(ScalarType.Float32);
        return EulerMove(x, modelOutput, sigma, sigmaNext).MoveToOuterDisposeScope();
    }
}
