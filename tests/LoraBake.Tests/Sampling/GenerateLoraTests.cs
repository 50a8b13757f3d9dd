using LoraBake.Runtime;
using LoraBake.Sampling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Sampling;

/// <summary>LoRA files during generation: strength 0 is the base image, the model is untouched afterwards in both modes.</summary>
public sealed class GenerateLoraTests(GenerateTinyModel tiny) : IClassFixture<GenerateTinyModel>
{
    static GenerateRequest Request(params LoraReference[] loras) =>
        new("a photo of a cat", "blurry", 7, 4, "euler", 7, 64, 64, loras);

    static Image<Rgb24> Render(Sd1Generator g, GenerateRequest r) => g.Generate(r);

    [Theory]
    [InlineData(LoraApplyMode.Hooks)]
    [InlineData(LoraApplyMode.Merge)]
    public void Strength_zero_is_the_base_image_strength_one_differs_and_the_weights_are_restored(LoraApplyMode mode)
    {
        var before = tiny.SnapshotWeights();
        using var generator = new Sd1Generator(tiny.Model, mode);
        using var baseImage = Render(generator, Request());
        using var zero = Render(generator, Request(LoraReference.Uniform(GenerateTinyModel.LoraFile, 0)));
        using var one = Render(generator, Request(LoraReference.Uniform(GenerateTinyModel.LoraFile, 1)));
        using var again = Render(generator, Request());

        Assert.Equal(GenerateTinyModel.Pixels(baseImage), GenerateTinyModel.Pixels(zero));
        Assert.True(GenerateTinyModel.MeanAbsDiff(baseImage, one) > 0.5, $"{mode}: strength 1 must change the image");
        Assert.Equal(GenerateTinyModel.Pixels(baseImage), GenerateTinyModel.Pixels(again));
        Assert.Empty(tiny.ChangedWeights(before));
        foreach (var t in before.Values) t.Dispose();
    }

    [Fact]
    public void A_file_rendered_at_several_strengths_is_read_once()
    {
        using var generator = new Sd1Generator(tiny.Model);
        foreach (var w in new[] { 0.25, 0.5, 1.0 })
            Render(generator, Request(LoraReference.Uniform(GenerateTinyModel.LoraFile, w)) with { Steps = 1 }).Dispose();
        Assert.Equal(1, generator.LoraFileLoads);
        Render(generator, Request(LoraReference.Uniform(GenerateTinyModel.LoHaFile, 1)) with { Steps = 1 }).Dispose();
        Assert.Equal(2, generator.LoraFileLoads);
    }

    [Fact]
    public void Kept_merges_render_the_same_images_merge_once_per_file_and_weight_and_restore_the_base()
    {
        var before = tiny.SnapshotWeights();
        var lora = GenerateTinyModel.LoraFile;
        GenerateRequest[] requests =
        [
            Request(LoraReference.Uniform(lora, 0.5)), Request(LoraReference.Uniform(lora, 0.5)) with { Seed = 8 },
            Request(LoraReference.Uniform(lora, 1)), Request(), Request(LoraReference.Uniform(lora, 1)) with { Seed = 8 },
        ];
        var expected = new List<byte[]>();
        using (var plain = new Sd1Generator(tiny.Model))
            foreach (var r in requests)
                using (var image = Render(plain, r with { Steps = 2 })) expected.Add(GenerateTinyModel.Pixels(image));

        using var kept = new Sd1Generator(tiny.Model);
        using (kept.KeepLorasMerged())
        {
            for (int i = 0; i < requests.Length; i++)
                using (var image = Render(kept, requests[i] with { Steps = 2 }))
                    Assert.Equal(expected[i], GenerateTinyModel.Pixels(image));
            // 0.5 once for both seeds, 1, the baseline restores, 1 again.
            Assert.Equal(3, kept.LoraMerges);
        }
        // The prompt pair is encoded once per text-encoder state: weight 0.5, weight 1, the base (1 again is cached).
        Assert.Equal(3, kept.TextEncodings);
        Assert.Empty(tiny.ChangedWeights(before));
        foreach (var t in before.Values) t.Dispose();
    }

    [Fact]
    public void Hooks_and_merge_render_the_same_image_within_rounding()
    {
        var request = Request(new LoraReference(GenerateTinyModel.LoraFile, 0.6, 1.3));
        using var hooks = new Sd1Generator(tiny.Model, LoraApplyMode.Hooks);
        using var merge = new Sd1Generator(tiny.Model, LoraApplyMode.Merge);
        using var a = Render(hooks, request);
        using var b = Render(merge, request);
        double d = GenerateTinyModel.MeanAbsDiff(a, b);
        Assert.True(d < 0.05, $"hooks vs merge mean |diff| {d:0.000}");
    }

    [Fact]
    public void Text_encoder_and_unet_strengths_act_separately()
    {
        using var generator = new Sd1Generator(tiny.Model);
        using var baseImage = Render(generator, Request());
        using var teOnly = Render(generator, Request(new LoraReference(GenerateTinyModel.LoraFile, 1, 0)));
        using var unetOnly = Render(generator, Request(new LoraReference(GenerateTinyModel.LoraFile, 0, 1)));
        Assert.True(GenerateTinyModel.MeanAbsDiff(baseImage, teOnly) > 0, "the text-encoder strength must act");
        Assert.True(GenerateTinyModel.MeanAbsDiff(baseImage, unetOnly) > 0, "the UNet strength must act");
        Assert.True(GenerateTinyModel.MeanAbsDiff(teOnly, unetOnly) > 0);
    }

    [Fact]
    public void A_prompt_tag_equals_the_same_lora_passed_in_the_request()
    {
        using var generator = new Sd1Generator(tiny.Model) { LoraSearchFolders = [Path.GetDirectoryName(GenerateTinyModel.LoraFile)!] };
        using var viaTag = Render(generator, Request() with { Prompt = "a photo of a cat<lora:lora:0.7>" });
        using var viaList = Render(generator, Request(LoraReference.Uniform(GenerateTinyModel.LoraFile, 0.7)));
        Assert.Equal(GenerateTinyModel.Pixels(viaList), GenerateTinyModel.Pixels(viaTag));
        Assert.Equal("a photo of a cat <lora:loha:0.5>" + "\nNegative prompt: blurry",
            string.Join('\n', generator.Infotext(Request(LoraReference.Uniform(GenerateTinyModel.LoHaFile, 0.5)) with { Prompt = "a photo of a cat" }, null, null).Split('\n')[..2]));
    }

    [Fact]
    public void A_locon_and_a_loha_apply_together_and_come_off_again()
    {
        var before = tiny.SnapshotWeights();
        var locon = Path.Combine(Path.GetDirectoryName(GenerateTinyModel.LoraFile)!, "locon.safetensors");
        foreach (var mode in new[] { LoraApplyMode.Hooks, LoraApplyMode.Merge })
        {
            using var generator = new Sd1Generator(tiny.Model, mode);
            using var image = Render(generator, Request(LoraReference.Uniform(locon, 0.8), LoraReference.Uniform(GenerateTinyModel.LoHaFile, 0.8)));
            Assert.Empty(tiny.ChangedWeights(before));
        }
        foreach (var t in before.Values) t.Dispose();
    }

    [Fact]
    public void Clip_skip_past_the_text_encoder_is_a_user_error()
    {
        using var generator = new Sd1Generator(tiny.Model);
        var e = Assert.Throws<UserError>(() => generator.Generate(Request() with { ClipSkip = 4 }));
        Assert.Contains("clip skip 4", e.Message);
        using var skip2 = Render(generator, Request() with { ClipSkip = 2 });
        using var skip1 = Render(generator, Request());
        Assert.True(GenerateTinyModel.MeanAbsDiff(skip1, skip2) > 0);
        Assert.Contains("Clip skip: 2", generator.Infotext(Request() with { ClipSkip = 2 }, null, null));
    }
}
