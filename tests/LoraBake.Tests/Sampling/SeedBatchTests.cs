using LoraBake.Models;
using LoraBake.Sampling;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>
/// The seeds of a grid cell in one UNet batch: each image draws its own initial and ancestral noise (one CPU
/// generator per seed), so it equals the render of that seed alone up to float rounding of the batched UNet.
/// On the random builtin:tiny-sd1 and the pretrained builtin:toy-sd1, with Euler a (noise every step) and DDIM.
/// </summary>
public sealed class SeedBatchTests(ITestOutputHelper output)
{
    static readonly long[] Seeds = [3, 1234, 8];

    static Sd1Model LoadBuiltin(string name, TempFolder dir)
    {
        string checkpoint;
        if (name == TinySd1.Name)
        {
            TinySd1.Write(dir);
            checkpoint = Path.Combine(dir, TinySd1.CheckpointFile);
            return Sd1Model.Load(checkpoint, tokenizerDir: Path.Combine(dir, TinySd1.TokenizerFolder), sidecarPath: Path.ChangeExtension(checkpoint, ".json"));
        }
        ToySd1.Write(dir);
        checkpoint = Path.Combine(dir, ToySd1.CheckpointFile);
        return Sd1Model.Load(checkpoint, tokenizerDir: Path.Combine(dir, ToySd1.TokenizerFolder), sidecarPath: Path.Combine(dir, ToySd1.SidecarFile));
    }

    [Theory]
    [InlineData("tiny-sd1", "euler_a")]
    [InlineData("tiny-sd1", "ddim")]
    [InlineData("toy-sd1", "euler_a")]
    [InlineData("toy-sd1", "ddim")]
    public void A_batch_of_seeds_renders_what_each_seed_renders_alone(string model, string sampler)
    {
        using var dir = new TempFolder("lorabake-seedbatch-");
        using var sd = LoadBuiltin(model, dir);
        using var generator = new Sd1Generator(sd);
        var request = new GenerateRequest("large red circle on blue background", "", 0, 8, sampler, 5, 64, 64, []);

        var batch = generator.GenerateSeeds(request, Seeds);
        try
        {
            Assert.Equal(Seeds.Length, batch.Count);
            for (int i = 0; i < Seeds.Length; i++)
            {
                using var single = generator.Generate(request with { Seed = Seeds[i] });
                var a = GenerateTinyModel.Pixels(single);
                var b = GenerateTinyModel.Pixels(batch[i]);
                int worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
                int differing = a.Zip(b, (x, y) => x != y ? 1 : 0).Sum();
                output.WriteLine($"{model} {sampler} seed {Seeds[i]}: max |Δ| {worst}/255, {differing} of {a.Length} bytes differ");
                Assert.True(worst <= 1, $"{model} {sampler} seed {Seeds[i]}: batched render differs by {worst}/255 from the single render");
            }
            // Different seeds are different images (each image did get its own noise).
            Assert.True(GenerateTinyModel.MeanAbsDiff(batch[0], batch[1]) > 0.5);
        }
        finally
        {
            foreach (var image in batch) image.Dispose();
        }
    }

    [Theory]
    [InlineData("euler_a")]
    [InlineData("ddim")]
    public void Batched_latents_equal_single_latents_within_float_rounding(string sampler)
    {
        using var dir = new TempFolder("lorabake-seedbatch-");
        using var sd = LoadBuiltin(ToySd1.Name, dir);
        using var scope = NewDisposeScope();
        var unet = new UNetNoisePredictor(sd.Unet);
        var cond = randn(new long[] { 1, 77, 64 }, generator: new Generator(5));
        var uncond = randn(new long[] { 1, 77, 64 }, generator: new Generator(6));
        var batched = TextToImage.Generate(unet, SamplerRegistry.Create(sampler), cond, uncond,
            new TextToImageSettings(64, 64, 8, 5, 0, Seeds: Seeds));
        for (int i = 0; i < Seeds.Length; i++)
        {
            var single = TextToImage.Generate(unet, SamplerRegistry.Create(sampler), cond, uncond, new TextToImageSettings(64, 64, 8, 5, Seeds[i]));
            double scale = single.abs().max().item<float>();
            FloatAssert.Close(single, batched.narrow(0, i, 1), rtol: 1e-4, atol: 1e-4 * scale, $"{sampler} seed {Seeds[i]} batched vs alone");
        }
    }

    [Fact]
    public void Per_image_generators_draw_what_each_seed_draws_alone()
    {
        using var scope = NewDisposeScope();
        using var generators = NoiseGenerators.PerImage([7, 9]);
        var both = generators.Randn([2, 4, 8, 8], ScalarType.Float32, CPU);
        var again = generators.Randn([2, 4, 8, 8], ScalarType.Float32, CPU);
        using var g7 = new Generator(7);
        using var g9 = new Generator(9);
        Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(both[0].unsqueeze(0), randn(new long[] { 1, 4, 8, 8 }, generator: g7)));
        Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(both[1].unsqueeze(0), randn(new long[] { 1, 4, 8, 8 }, generator: g9)));
        Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(again[0].unsqueeze(0), randn(new long[] { 1, 4, 8, 8 }, generator: g7)));
        Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(again[1].unsqueeze(0), randn(new long[] { 1, 4, 8, 8 }, generator: g9)));
    }
}
