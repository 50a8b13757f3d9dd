using LoraBake.Diffusion;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// DPM-Solver++(2M) (Lu et al. 2022) on Karras σ (ρ = 7, the model's σmin/σmax), first order on the first step
/// and on the last (σ' = 0), as diffusers' <c>DPMSolverMultistepScheduler</c> (dpmsolver++, midpoint,
/// <c>use_karras_sigmas</c>, <c>final_sigmas_type="zero"</c>) and k-diffusion's <c>sample_dpmpp_2m</c>.
/// It works on VP latents (x = αx₀ + σ_VP·ε, α = 1/√(σ²+1)): the initial noise is unscaled and the model input
/// is the latent itself; the step is the same as k-diffusion's on x·√(σ²+1).
/// The model timestep is t(σ) rounded to an integer as diffusers does; A1111 (k-diffusion) passes the fraction,
/// which <c>roundTimesteps: false</c> selects.
/// </summary>
public sealed class DpmPlusPlus2MKarrasSampler : ISampler
{
    const double Rho = 7.0;
    readonly SigmaTable _table;
    readonly bool _roundTimesteps;
    float[] _timesteps = [];
    float[] _sigmas = [];
    Tensor? _previousX0;
    int _nextStep;

    public DpmPlusPlus2MKarrasSampler(NoiseSchedule? schedule = null, bool roundTimesteps = true)
    {
        _table = new SigmaTable(schedule ?? NoiseSchedule.StableDiffusion);
        _roundTimesteps = roundTimesteps;
    }

    public string Name => "DPM++ 2M Karras";
    public IReadOnlyList<float> Timesteps => _timesteps;
    public IReadOnlyList<float> Sigmas => _sigmas;
    public float InitNoiseSigma => 1.0f;

    public void SetTimesteps(int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "the number of steps must be at least 1");
        var karras = SigmaTable.Karras(_table.SigmaMin, _table.SigmaMax, steps, Rho);
        _timesteps = karras.Select(s => _table.TimestepOf(s))
            .Select(t => (float)(_roundTimesteps ? Math.Round(t, MidpointRounding.ToEven) : t)).ToArray();
        _sigmas = karras.Select(s => (float)s).Append(0f).ToArray();
        ResetHistory();
    }

    public Tensor ScaleModelInput(Tensor sample, int stepIndex)
    {
        SamplerChecks.StepIndex(stepIndex, _timesteps.Length);
        return sample.alias();
    }

    public Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseGenerators? generators = null)
    {
        SamplerChecks.StepIndex(stepIndex, _timesteps.Length);
        if (stepIndex != _nextStep)
            throw new InvalidOperationException($"DPM++ 2M is multistep: expected step {_nextStep}, got {stepIndex}; call SetTimesteps to restart");
        using var scope = NewDisposeScope();
        var x = sample.to(ScalarType.Float32);
        var (alphaS0, sigmaS0) = AlphaSigma(_sigmas[stepIndex]);
        var x0 = (x - sigmaS0 * modelOutput.to(ScalarType.Float32)) / alphaS0;

        float sigmaNext = _sigmas[stepIndex + 1];
        Tensor prev;
        if (sigmaNext == 0f)
        {
            // λ' = ∞: the update reduces to the data prediction itself.
            prev = x0.alias();
        }
        else
        {
            var (alphaT, sigmaT) = AlphaSigma(sigmaNext);
            float lambdaT = MathF.Log(alphaT) - MathF.Log(sigmaT);
            float lambdaS0 = MathF.Log(alphaS0) - MathF.Log(sigmaS0);
            float h = lambdaT - lambdaS0;
            float coefficient = alphaT * (MathF.Exp(-h) - 1f);
            prev = (sigmaT / sigmaS0) * x - coefficient * x0;
            if (_previousX0 is not null)
            {
                var (alphaS1, sigmaS1) = AlphaSigma(_sigmas[stepIndex - 1]);
                float lambdaS1 = MathF.Log(alphaS1) - MathF.Log(sigmaS1);
                float r0 = (lambdaS0 - lambdaS1) / h;
                var d1 = (1f / r0) * (x0 - _previousX0);
                prev = prev - 0.5f * coefficient * d1;
            }
        }

        _previousX0?.Dispose();
        _previousX0 = x0.DetachFromDisposeScope();
        _nextStep = stepIndex + 1;
        return prev.MoveToOuterDisposeScope();
    }

    /// <summary>VP coefficients of a VE σ: α = 1/√(σ²+1), σ_VP = σ·α (diffusers <c>_sigma_to_alpha_sigma_t</c>).</summary>
    static (float alpha, float sigma) AlphaSigma(float sigma)
    {
        float alpha = 1f / MathF.Sqrt(sigma * sigma + 1f);
        return (alpha, sigma * alpha);
    }

    void ResetHistory()
    {
        _previousX0?.Dispose();
        _previousX0 = null;
        _nextStep = 0;
    }
}
