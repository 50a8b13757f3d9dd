using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>What to generate: latent size from pixels, steps, guidance and the seed of the CPU generator.</summary>
/// <param name="CfgScale">Classifier-free guidance scale; ≤ 1 runs the conditional branch only, as diffusers does.</param>
/// <param name="BatchSize">Images per call, all drawn from the one seeded generator (diffusers' <c>num_images_per_prompt</c>).</param>
/// <param name="Seeds">When set, one image per seed instead (it replaces <paramref name="Seed"/> and <paramref name="BatchSize"/>),
/// each drawn from its own generator: image i equals the render of seed i alone, up to float rounding of the batched UNet.</param>
public sealed record TextToImageSettings(int Width, int Height, int Steps, double CfgScale, long Seed, int BatchSize = 1,
    IReadOnlyList<long>? Seeds = null)
{
    /// <summary>Images in the batch.</summary>
    public int Images => Seeds?.Count ?? BatchSize;

    /// <summary>The generators this render draws from (the caller disposes them).</summary>
    public NoiseGenerators CreateGenerators() => Seeds is { } seeds ? NoiseGenerators.PerImage(seeds) : NoiseGenerators.Single(Seed);
}

/// <summary>
/// The text-to-image loop of diffusers' <c>StableDiffusionPipeline</c>, sampler-agnostic:
/// latents = randn([B,4,H/8,W/8], CPU generator seeded with the seed) · init_noise_sigma; per step the
/// unconditional and conditional branches run as one batch of 2B (uncond first), ε = ε_u + cfg·(ε_c − ε_u),
/// and the sampler steps (ancestral samplers draw from the same generator, one tensor per step). With
/// <see cref="TextToImageSettings.Seeds"/> every image has its own generator, as diffusers' generator list.
/// Latents stay float32; the predictor casts if it runs in lower precision.
/// </summary>
public static class TextToImage
{
    public const int LatentChannels = 4;
    public const int VaeScaleFactor = 8;

    /// <param name="cond">Text-encoder context for the prompt: [1 or B, tokens, dim].</param>
    /// <param name="uncond">Context for the negative prompt, the same shape as <paramref name="cond"/>.</param>
    /// <param name="device">Where the model runs (the initial noise is still drawn on the CPU).</param>
    /// <param name="onStep">Called after each step with (step index, step count).</param>
    /// <returns>Final latents [B,4,H/8,W/8], float32, before the VAE's 1/0.18215 scaling.</returns>
    public static Tensor Generate(INoisePredictor model, ISampler sampler, Tensor cond, Tensor uncond,
        TextToImageSettings settings, Device? device = null, Action<int, int>? onStep = null)
    {
        Validate(settings);
        if (!cond.shape.SequenceEqual(uncond.shape))
            throw new ArgumentException($"prompt context {Shape(cond)} and negative prompt context {Shape(uncond)} must have the same shape (pad the shorter to the same number of 77-token chunks)");
        device ??= cond.device;
        int b = settings.Images;
        bool guided = settings.CfgScale > 1.0;

        using var scope = NewDisposeScope();
        var condB = Expand(cond, b, "prompt context").to(device);
        var context = guided ? cat([Expand(uncond, b, "negative prompt context").to(device), condB], 0) : condB;

        sampler.SetTimesteps(settings.Steps);
        using var generators = settings.CreateGenerators();
        var shape = new long[] { b, LatentChannels, settings.Height / VaeScaleFactor, settings.Width / VaeScaleFactor };
        var latents = generators.Randn(shape, ScalarType.Float32, device) * sampler.InitNoiseSigma;

        int steps = sampler.Timesteps.Count;
        for (int i = 0; i < steps; i++)
        {
            using var stepScope = NewDisposeScope();
            var modelInput = sampler.ScaleModelInput(guided ? cat([latents, latents], 0) : latents, i);
            var timestep = full(modelInput.shape[0], sampler.Timesteps[i], ScalarType.Float32, device);
            var eps = model.PredictNoise(modelInput, timestep, context);
            if (guided)
            {
                var halves = eps.chunk(2, 0);
                eps = halves[0] + (float)settings.CfgScale * (halves[1] - halves[0]);
            }
            var next = sampler.Step(eps, i, latents, generators).MoveToOuterDisposeScope();
            latents.Dispose();
            latents = next;
            onStep?.Invoke(i, steps);
        }
        return latents.MoveToOuterDisposeScope();
    }

    static void Validate(TextToImageSettings s)
    {
        if (s.Width <= 0 || s.Height <= 0 || s.Width % VaeScaleFactor != 0 || s.Height % VaeScaleFactor != 0)
            throw new UserError($"sample size {s.Width}x{s.Height} is not possible: width and height must be positive multiples of {VaeScaleFactor} (e.g. 512x512, 512x768).");
        if (s.Steps < 1)
            throw new UserError($"sample steps {s.Steps} is not possible: use at least 1 (20-30 is usual).");
        if (s.BatchSize < 1)
            throw new UserError($"sample batch size {s.BatchSize} is not possible: use at least 1.");
        if (s.Seeds is { Count: 0 })
            throw new ArgumentException("a render by seeds needs at least one seed");
        foreach (var seed in s.Seeds ?? [s.Seed])
            if (seed < 0)
                throw new UserError($"seed {seed} is negative: pick a seed of 0 or more (resolve -1 to a random seed before sampling).");
        if (double.IsNaN(s.CfgScale) || s.CfgScale < 0)
            throw new UserError($"CFG scale {s.CfgScale} is not possible: use a value of 0 or more (7 is usual).");
    }

    static Tensor Expand(Tensor context, int batch, string what)
    {
        if (context.dim() != 3) throw new ArgumentException($"{what} must be [batch, tokens, dim], got {Shape(context)}");
        if (context.shape[0] == batch) return context;
        if (context.shape[0] == 1) return context.expand(batch, -1, -1);
        throw new ArgumentException($"{what} has batch {context.shape[0]}, expected 1 or {batch}");
    }

    static string Shape(Tensor t) => "[" + string.Join(",", t.shape) + "]";
}
