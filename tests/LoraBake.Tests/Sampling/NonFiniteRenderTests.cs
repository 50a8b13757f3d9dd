using LoraBake.Models;
using LoraBake.Sampling;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>A render that goes NaN is an error naming it and the likely cause, never a black image.</summary>
public class NonFiniteRenderTests
{
    [Fact]
    public void Nan_latents_are_an_error_naming_the_seed_and_the_cause()
    {
        using var model = Sd1Model.Load(GenerateTinyModel.Checkpoint, tokenizerDir: GenerateTinyModel.Tokenizer);
        using (no_grad())
        {
            var bias = model.Unet.named_parameters().First(p => p.name.EndsWith("conv_out.bias", StringComparison.Ordinal)).parameter;
            bias.fill_(double.NaN);
        }
        using var generator = new Sd1Generator(model);
        var request = new GenerateRequest("a photo of a cat", "", 1234, 3, "euler", 7, 64, 64, []);

        var error = Assert.Throws<NonFiniteImageException>(() => generator.Generate(request));

        Assert.Contains("latents", error.Message);
        Assert.Contains("seed 1234", error.Message);
        Assert.Contains("a photo of a cat", error.Message);
        Assert.Contains("Likely cause", error.Message);
    }

    [Fact]
    public void The_text_encoder_pools_at_the_tokenizers_end_of_text_id()
    {
        // The built-in model has its own small vocabulary, so its end-of-text id is not CLIP's 49407.
        using var dir = new TempFolder("lorabake-eos-");
        TinySd1.Write(dir);
        var checkpoint = Path.Combine(dir, TinySd1.CheckpointFile);
        using var model = Sd1Model.Load(checkpoint, tokenizerDir: Path.Combine(dir, TinySd1.TokenizerFolder),
            sidecarPath: Path.ChangeExtension(checkpoint, ".json"));
        Assert.NotEqual(49407, model.Tokenizer.EosId);
        Assert.Equal(model.Tokenizer.EosId, model.TextEncoder.Config.EosTokenId);
    }
}
