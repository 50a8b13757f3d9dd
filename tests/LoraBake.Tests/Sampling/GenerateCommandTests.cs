using LoraBake.Cli.Commands;
using LoraBake.Runtime;
using LoraBake.Sampling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Sampling;

/// <summary>`lorabake generate` end to end on the golden tiny_a checkpoint, 64×64, a few steps.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    readonly TempFolder _dir = new("lorabake-generate-");

    const string Prompt = "a photo of a (cat:1.2)";

    GenerateCommand.Settings Settings(string sampler, long seed, string file, string? lora = null, string prompt = Prompt) => new()
    {
        Model = GenerateTinyModel.Checkpoint, Tokenizer = GenerateTinyModel.Tokenizer,
        Prompt = prompt, Negative = "blurry", Seed = seed, Steps = 4, Sampler = sampler, Cfg = 7,
        Width = 64, Height = 64, Out = file.Length == 0 ? "" : Path.Combine(_dir, file), Loras = lora is null ? [] : [lora],
    };

    [Theory]
    [InlineData("ddim", "DDIM")]
    [InlineData("euler", "Euler")]
    [InlineData("euler_a", "Euler a")]
    [InlineData("dpmpp_2m_karras", "DPM++ 2M Karras")]
    public void Each_sampler_renders_a_reproducible_png_with_webui_parameters(string sampler, string displayName)
    {
        var log = new StringWriter();
        Assert.Equal(0, GenerateCommand.Run(Settings(sampler, 5, "a.png"), log));
        Assert.Equal(0, GenerateCommand.Run(Settings(sampler, 5, "b.png"), TextWriter.Null));
        Assert.Equal(0, GenerateCommand.Run(Settings(sampler, 6, "c.png"), TextWriter.Null));

        byte[] a = File.ReadAllBytes(Path.Combine(_dir, "a.png"));
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(_dir, "b.png")));
        using (var image = Image.Load<Rgb24>(a))
        using (var other = Image.Load<Rgb24>(Path.Combine(_dir, "c.png")))
        {
            Assert.Equal((64, 64), (image.Width, image.Height));
            Assert.True(GenerateTinyModel.MeanAbsDiff(image, other) > 1, "another seed must give another image");
        }
        Assert.Contains("step 4/4", log.ToString());

        var p = GenerationParameters.Parse(PngFile.ReadParameters(Path.Combine(_dir, "a.png"))!);
        Assert.NotNull(p);
        Assert.Equal(("a photo of a (cat:1.2)", "blurry", 4, displayName, 7.0, 5L, 64, 64),
            (p.Prompt, p.NegativePrompt, p.Steps, p.Sampler, p.CfgScale, p.Seed, p.Width, p.Height));
        Assert.Equal("tiny_a_ldm", p.Model);
        Assert.Equal(LoraBake.Pipeline.Hashing.Sha256File(GenerateTinyModel.Checkpoint)[..10], p.ModelHash);
        Assert.Null(p.Extra);
    }

    [Fact]
    public void A_lora_is_written_into_the_prompt_and_lora_hashes()
    {
        Assert.Equal(0, GenerateCommand.Run(Settings("euler", 5, "l.png", GenerateTinyModel.LoraFile + ":0.75"), TextWriter.Null));
        var p = GenerationParameters.Parse(PngFile.ReadParameters(Path.Combine(_dir, "l.png"))!)!;
        Assert.Equal("a photo of a (cat:1.2) <lora:lora:0.75>", p.Prompt);
        var hashes = Assert.Single(p.Extra!, kv => kv.Key == "Lora hashes").Value;
        Assert.Equal($"lora: {WebuiHashes.LoraHash(GenerateTinyModel.LoraFile)}", hashes);
        Assert.Matches("^lora: [0-9a-f]{12}$", hashes);
    }

    [Fact]
    public void Unknown_sampler_missing_lora_and_missing_output_are_user_errors()
    {
        var e = Assert.Throws<UserError>(() => GenerateCommand.Run(Settings("heun", 1, "x.png"), TextWriter.Null));
        Assert.Contains("unknown sampler 'heun'", e.Message);
        e = Assert.Throws<UserError>(() => GenerateCommand.Run(Settings("euler", 1, "x.png", Path.Combine(_dir, "none.safetensors:0.5")), TextWriter.Null));
        Assert.Contains("none.safetensors", e.Message);
        e = Assert.Throws<UserError>(() => GenerateCommand.Run(Settings("euler", 1, "x.png", prompt: "<lora:none:1>"), TextWriter.Null));
        Assert.Contains("none.safetensors", e.Message);
        e = Assert.Throws<UserError>(() => GenerateCommand.Run(Settings("euler", 1, ""), TextWriter.Null));
        Assert.Contains("--out", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "x.png")));
    }

    public void Dispose() => _dir.Dispose();
}
