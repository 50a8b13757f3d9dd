using LoraBake.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Diffusion;

/// <summary>
/// The DDPM forward process SD 1.x was trained with (diffusers <c>DDPMScheduler</c>, kohya's training scheduler):
/// βₜ = linspace(√β₀, √β₁, T)², ᾱₜ = Π(1−β), all in float32 exactly as diffusers computes them, so that
/// every sampler and the trainer read the same table. Tables are kept as CPU float arrays; tensors are made on demand.
/// </summary>
public sealed class NoiseSchedule
{
    public const int SdTrainTimesteps = 1000;
    public const double SdBetaStart = 0.00085;
    public const double SdBetaEnd = 0.012;

    /// <summary>SD 1.x: scaled_linear 0.00085 → 0.012 over 1000 steps.</summary>
    public static NoiseSchedule StableDiffusion { get; } = ScaledLinear(SdBetaStart, SdBetaEnd, SdTrainTimesteps);

    public int NumTrainTimesteps { get; }
    public IReadOnlyList<float> Betas => _betas;
    public IReadOnlyList<float> AlphasCumprod => _alphasCumprod;
    /// <summary>σₜ = √((1−ᾱ)/ᾱ) in float32 (the k-diffusion / Euler σ table, ascending in t).</summary>
    public IReadOnlyList<float> Sigmas => _sigmas;
    /// <summary>SNR = (√ᾱ/√(1−ᾱ))², computed in float32 the way kohya's <c>prepare_scheduler_for_custom_training</c> does.</summary>
    public IReadOnlyList<float> Snr => _snr;

    readonly float[] _betas, _alphasCumprod, _sigmas, _snr;

    NoiseSchedule(float[] betas)
    {
        NumTrainTimesteps = betas.Length;
        _betas = betas;
        using var scope = NewDisposeScope();
        var b = tensor(betas);
        var acp = cumprod(1.0f - b, 0);
        _alphasCumprod = acp.data<float>().ToArray();
        _sigmas = ((1.0f - acp) / acp).pow(0.5f).data<float>().ToArray();
        _snr = (acp.sqrt() / (1.0f - acp).sqrt()).pow(2).data<float>().ToArray();
    }

    /// <summary>diffusers' "scaled_linear" schedule: betas = linspace(√start, √end, T, float32)².</summary>
    public static NoiseSchedule ScaledLinear(double betaStart, double betaEnd, int numTrainTimesteps)
    {
        if (numTrainTimesteps < 2) throw new ArgumentOutOfRangeException(nameof(numTrainTimesteps), numTrainTimesteps, "need at least 2 timesteps");
        var root = LinspaceFloat32((float)Math.Sqrt(betaStart), (float)Math.Sqrt(betaEnd), numTrainTimesteps);
        return new NoiseSchedule(root.Select(r => r * r).ToArray());
    }

    /// <summary>
    /// torch.linspace(start, end, n, float32) bit for bit as PyTorch's AVX2 CPU kernel fills it (the betas
    /// diffusers and kohya train and sample with): step = (end − start)/(n − 1) in float; 8-wide blocks whose
    /// base is start + step·i₀ (first half) or end − step·(n − 1 − i₀) (second half), each a fused multiply-add
    /// as the compiler emits it, then base + k·step per lane; a scalar tail after the last full pair of blocks.
    /// Calling torch.linspace from LibTorch 2.10 differs in the last bit for ~a quarter of the entries.
    /// </summary>
    internal static float[] LinspaceFloat32(float start, float end, int steps)
    {
        const int vector = 8;
        var y = new float[steps];
        if (steps == 1) { y[0] = start; return y; }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        int vectorized = steps / (2 * vector) * (2 * vector);
        for (int block = 0; block < vectorized; block += vector)
        {
            float b = At(block);
            for (int k = 0; k < vector; k++) y[block + k] = b + k * step;
        }
        for (int i = vectorized; i < steps; i++)
            y[i] = At(i);
        return y;

        float At(int i) => i < halfway ? MathF.FusedMultiplyAdd(step, i, start) : MathF.FusedMultiplyAdd(-step, steps - i - 1, end);
    }

    /// <summary>ᾱ as a float32 tensor on <paramref name="device"/>.</summary>
    public Tensor AlphasCumprodTensor(Device? device = null) => tensor(_alphasCumprod, device: device);

    /// <summary>
    /// xₜ = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε with one timestep per batch item (diffusers <c>DDPMScheduler.add_noise</c>).
    /// <paramref name="timesteps"/> is an integer tensor [B]; the coefficients take x₀'s dtype and device.
    /// </summary>
    public Tensor AddNoise(Tensor originalSamples, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var (sqrtAlpha, sqrtOneMinusAlpha) = Coefficients(originalSamples, timesteps);
        return (sqrtAlpha * originalSamples + sqrtOneMinusAlpha * noise).MoveToOuterDisposeScope();
    }

    /// <summary>The v-prediction target v = √ᾱ·ε − √(1−ᾱ)·x₀ (diffusers <c>get_velocity</c>).</summary>
    public Tensor GetVelocity(Tensor sample, Tensor noise, Tensor timesteps)
    {
        using var scope = NewDisposeScope();
        var (sqrtAlpha, sqrtOneMinusAlpha) = Coefficients(sample, timesteps);
        return (sqrtAlpha * noise - sqrtOneMinusAlpha * sample).MoveToOuterDisposeScope();
    }

    (Tensor sqrtAlpha, Tensor sqrtOneMinusAlpha) Coefficients(Tensor like, Tensor timesteps)
    {
        var acp = AlphasCumprodTensor(like.device).to(like.dtype);
        var t = timesteps.to(like.device).to(ScalarType.Int64).flatten();
        var acpT = MetaKernels.IsMeta(t) ? MetaKernels.IndexSelect0(acp, t) : acp.index_select(0, t);
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = -1;
        return (acpT.pow(0.5).reshape(shape), (1.0f - acpT).pow(0.5).reshape(shape));
    }
}
