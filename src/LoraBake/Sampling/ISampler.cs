using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// One sampling algorithm in the shape of a diffusers scheduler, so the text-to-image loop does not care which:
/// <c>SetTimesteps(n)</c>; <c>x = randn · InitNoiseSigma</c>; for i in 0..n−1:
/// <c>ε = model(ScaleModelInput(x, i), Timesteps[i])</c>, <c>x = Step(ε, i, x, generators)</c>.
/// Steps must run in order, once each, after <see cref="SetTimesteps"/> (multistep samplers keep history).
/// All arithmetic is float32; <see cref="Step"/> returns a float32 tensor.
/// </summary>
public interface ISampler
{
    /// <summary>The AUTOMATIC1111 display name ("Euler a"), as written into PNG infotext.</summary>
    string Name { get; }

    /// <summary>Resets the sampler for <paramref name="steps"/> inference steps.</summary>
    void SetTimesteps(int steps);

    /// <summary>Model timestep of each step (integers for DDIM and DPM++, possibly fractional for Euler).</summary>
    IReadOnlyList<float> Timesteps { get; }

    /// <summary>σ of each step plus a final entry (0) for σ-based samplers; empty for DDIM, which steps in ᾱ.</summary>
    IReadOnlyList<float> Sigmas { get; }

    /// <summary>The factor the unit-normal initial latents are multiplied by.</summary>
    float InitNoiseSigma { get; }

    /// <summary>The tensor the model sees at step <paramref name="stepIndex"/> (x/√(σ²+1) for Euler; x itself otherwise).</summary>
    Tensor ScaleModelInput(Tensor sample, int stepIndex);

    /// <summary>
    /// One step from x at <paramref name="stepIndex"/> to the next, given the model's ε prediction.
    /// Ancestral samplers draw one <c>randn</c> shaped like the sample from <paramref name="generators"/>
    /// (the global generator when null) on the generators' device, as diffusers' <c>randn_tensor</c> does.
    /// </summary>
    Tensor Step(Tensor modelOutput, int stepIndex, Tensor sample, NoiseGenerators? generators = null);
}
