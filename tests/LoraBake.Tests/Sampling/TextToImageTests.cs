using LoraBake.Diffusion;
using LoraBake.Runtime;
using LoraBake.Sampling;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>
/// The generation loop with the goldens' fake model: the goldens' initial latents are randn of a CPU generator
/// seeded 11, so with cfg = 1 (or any cfg and identical contexts) the loop must land on diffusers' final latents.
/// </summary>
public class TextToImageTests
{
    const long GoldenSeed = 11;

    [Theory]
    [InlineData("ddim_leading_eta0", 1.0)]
    [InlineData("ddim_trailing_eta0", 1.0)]
    [InlineData("euler_linspace", 1.0)]
    [InlineData("euler_leading", 1.0)]
    [InlineData("dpmpp_2m_karras", 1.0)]
    [InlineData("euler_linspace", 7.5)]
    [InlineData("dpmpp_2m_karras", 7.5)]
    public void Loop_reproduces_the_sampler_golden_when_both_branches_agree(string file, double cfg)
    {
        var (g, metadata) = GoldenTensors.Load(GoldensFolder.File("samplers", file + ".safetensors"));
        using var scope = NewDisposeScope();
        try
        {
            var model = new FakeGoldenModel(g["fake_model_c"]);
            var context = randn(1, 77, 32);
            var sampler = SamplerGoldenTests.FromMetadata(metadata);
            var latents = TextToImage.Generate(model, sampler, context, context.clone(), new TextToImageSettings(64, 64, 10, cfg, GoldenSeed));

            Assert.Equal(new long[] { 1, 4, 8, 8 }, latents.shape);
            double d = GoldenTensors.MaxAbsDiff(latents, g["latents"][10]);
            Assert.True(d <= 1e-5 + 1e-6 * 35, $"{file} cfg {cfg}: final latents max |diff| {d:E2}");
            Assert.Equal(10, model.Calls);
            // cfg > 1 runs uncond and cond as one batch of two.
            Assert.All(model.ContextShapes, s => Assert.Equal(cfg > 1 ? 2 : 1, s[0]));
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    [Fact]
    public void Euler_a_draws_the_initial_latents_then_one_noise_per_step_from_the_seeded_generator()
    {
        using var scope = NewDisposeScope();
        var c = randn(1, 4, 8, 8, generator: new Generator(5));
        var model = new FakeGoldenModel(c);
        var context = zeros(1, 77, 32);
        var latents = TextToImage.Generate(model, SamplerRegistry.Create("euler_a"), context, context, new TextToImageSettings(64, 64, 6, 1, 1234));

        // The same computation by hand with the draws in diffusers' order, the noise injected.
        var sampler = new EulerAncestralSampler();
        sampler.SetTimesteps(6);
        var generator = new Generator(1234);
        var x = randn(new long[] { 1, 4, 8, 8 }, generator: generator) * sampler.InitNoiseSigma;
        for (int i = 0; i < 6; i++)
        {
            var eps = FakeGoldenModel.Eps(sampler.ScaleModelInput(x, i), sampler.Timesteps[i], c);
            x = sampler.StepWithNoise(eps, i, x, randn(new long[] { 1, 4, 8, 8 }, generator: generator));
        }
        Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(latents, x));
    }

    [Fact]
    public void Same_seed_gives_identical_latents_and_another_seed_does_not()
    {
        using var scope = NewDisposeScope();
        var model = new FakeGoldenModel(randn(1, 4, 6, 8));
        var cond = randn(1, 77, 32);
        var uncond = randn(1, 77, 32);
        var settings = new TextToImageSettings(64, 48, 5, 7, 42, BatchSize: 2);
        var a = TextToImage.Generate(model, SamplerRegistry.Create("Euler a"), cond, uncond, settings);
        var b = TextToImage.Generate(model, SamplerRegistry.Create("Euler a"), cond, uncond, settings);
        var other = TextToImage.Generate(model, SamplerRegistry.Create("Euler a"), cond, uncond, settings with { Seed = 43 });

        Assert.Equal(new long[] { 2, 4, 6, 8 }, a.shape);
        Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(a, b));
        Assert.True(GoldenTensors.MaxAbsDiff(a, other) > 0.1);
        Assert.All(model.ContextShapes, s => Assert.Equal(new long[] { 4, 77, 32 }, s));
    }

    [Fact]
    public void Guidance_pushes_away_from_the_negative_branch()
    {
        // A model whose ε is the context's mean: ε_u = 0, ε_c = 1, so cfg 3 gives ε = 3 everywhere.
        using var scope = NewDisposeScope();
        var model = new ContextMeanModel();
        var cond = ones(1, 77, 32);
        var uncond = zeros(1, 77, 32);
        var sampler = new DdimSampler();
        var latents = TextToImage.Generate(model, sampler, cond, uncond, new TextToImageSettings(16, 16, 1, 3, 0));
        // One DDIM step from t = 1 to ᾱ₀ with ε = 3: x' = √ᾱ₀·(x − √(1−ᾱ₁)·3)/√ᾱ₁ + √(1−ᾱ₀)·3.
        var x = randn(new long[] { 1, 4, 2, 2 }, generator: new Generator(0));
        var schedule = NoiseSchedule.StableDiffusion;
        double a1 = schedule.AlphasCumprod[1], a0 = schedule.AlphasCumprod[0];
        var expected = Math.Sqrt(a0) * (x - Math.Sqrt(1 - a1) * 3) / Math.Sqrt(a1) + Math.Sqrt(1 - a0) * 3;
        Assert.True(GoldenTensors.MaxAbsDiff(latents, expected) < 1e-5);
    }

    [Theory]
    [InlineData(500, 512, 20, 7, 1, "500x512")]
    [InlineData(512, 512, 0, 7, 1, "steps 0")]
    [InlineData(512, 512, 20, 7, -1, "seed -1")]
    [InlineData(512, 512, 20, -2, 1, "CFG scale -2")]
    public void Impossible_settings_are_user_errors(int width, int height, int steps, double cfg, long seed, string named)
    {
        using var context = zeros(1, 77, 32);
        var e = Assert.Throws<UserError>(() => TextToImage.Generate(new ContextMeanModel(), new EulerSampler(), context, context,
            new TextToImageSettings(width, height, steps, cfg, seed)));
        Assert.Contains(named, e.Message);
    }

    sealed class ContextMeanModel : INoisePredictor
    {
        public Tensor PredictNoise(Tensor latents, Tensor timestep, Tensor context)
        {
            using var scope = NewDisposeScope();
            return (zeros_like(latents) + context.mean([1, 2]).reshape(-1, 1, 1, 1)).MoveToOuterDisposeScope();
        }
    }
}
