using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// What Euler and Euler a share (diffusers' <c>EulerDiscreteScheduler</c> and <c>EulerAncestralDiscreteScheduler</c>,
/// k-diffusion's <c>sample_euler</c> and <c>sample_euler_ancestral</c>): the σ table, the initial noise scale, the model
/// input x/√(σ²+1) and the Euler move along d = (x − x̂₀)/σ. Each sampler adds only its step.
/// </summary>
public abstract class EulerFamilySampler : ISampler
{
    private protected SigmaSchedule Schedule { get; }

    /// <param name="spacing">Linspace (default) gives k-diffusion's / A1111's schedule; Leading is diffusers' SD default.</param>
    /// <param name="interpolation">σ between table entries: Log as k-diffusion (A1111), Linear as diffusers. Equal at integer timesteps.</param>
    private protected EulerFamilySampler(NoiseSchedule? schedule, TimestepSpacing spacing, SigmaInterpolation interpolation, int stepsOffset)
    {
        Schedule = new SigmaSchedule(schedule ?? NoiseSchedule.StableDiffusion, spacing, interpolation, stepsOffset);
    }

    public abstract string Name { get; }
    public IReadOnlyList<float> Timesteps => Schedule.Timesteps;
    public IReadOnlyList<float> Sigmas => Schedule.Sigmas;
    public float InitNoiseSigma => Schedule.InitNoiseSigma;
    public void SetTimesteps(int steps) => Schedule.SetTimesteps(steps);
    public Tensor ScaleModelInput(Tensor sample, int stepIndex) => Schedule.ScaleModelInput(sample, stepIndex);
    public abstract Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseGenerators? generators = null);

    /// <summary>
    /// x moved from σ to <paramref name="sigmaTo"/> along the ODE's derivative, in diffusers' order of operations:
    /// x̂₀ = x − σ·ε; d = (x − x̂₀)/σ; x + d·(σ' − σ). The float32 <paramref name="x"/> and ε as the model gave it.
    /// </summary>
    private protected static Tensor EulerMove(Tensor x, Tensor modelOutput, float sigma, float sigmaTo)
    {
        var predOriginal = x - sigma * modelOutput.to(ScalarType.Float32);
        var derivative = (x - predOriginal) / sigma;
        return x + derivative * (sigmaTo - sigma);
    }
}
