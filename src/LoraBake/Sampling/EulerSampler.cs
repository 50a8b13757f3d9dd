using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// Euler's method on the probability-flow ODE in σ (Karras et al. 2022, k-diffusion <c>sample_euler</c>,
/// diffusers <c>EulerDiscreteScheduler</c> with s_churn 0): x ← x + ε·(σ' − σ), model input x/√(σ²+1).
/// </summary>
public sealed class EulerSampler : ISampler
{
    readonly SigmaSchedule _schedule;

    /// <param name="spacing">Linspace (default) gives k-diffusion's / A1111's schedule; Leading is diffusers' SD default.</param>
    /// <param name="interpolation">σ between table entries: Log as k-diffusion (A1111), Linear as diffusers. Equal at integer timesteps.</param>
    public EulerSampler(NoiseSchedule? schedule = null, TimestepSpacing spacing = TimestepSpacing.Linspace,
        SigmaInterpolation interpolation = SigmaInterpolation.Log, int stepsOffset = 1)
    {
        _schedule = new SigmaSchedule(schedule ?? NoiseSchedule.StableDiffusion, spacing, interpolation, stepsOffset);
    }

    public string Name => "Euler";
    public IReadOnlyList<float> Timesteps => _schedule.Timesteps;
    public IReadOnlyList<float> Sigmas => _schedule.Sigmas;
    public float InitNoiseSigma => _schedule.InitNoiseSigma;
    public void SetTimesteps(int steps) => _schedule.SetTimesteps(steps);
    public Tensor ScaleModelInput(Tensor sample, int stepIndex) => _schedule.ScaleModelInput(sample, stepIndex);

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, Generator? generator = null)
    {
        SamplerChecks.StepIndex(stepIndex, _schedule.Timesteps.Length);
        using var scope = NewDisposeScope();
        float sigma = _schedule.Sigmas[stepIndex], sigmaNext = _schedule.Sigmas[stepIndex + 1];
        var x = sample.to(ScalarType.Float32);
        // diffusers' order of operations: x̂₀ = x − σ·ε; d = (x − x̂₀)/σ; x + d·(σ' − σ).
        var predOriginal = x - sigma * modelOutput.to(ScalarType.Float32);
        var derivative = (x - predOriginal) / sigma;
        return (x + derivative * (sigmaNext - sigma)).MoveToOuterDisposeScope();
    }
}
