using LoraBake.Networks;
using LoraBake.Recipes;

namespace LoraBake.Tests.Recipes;

public sealed class PresetTests
{
    static string Preset(string name) => Path.Combine(RecipeTestRepo.PresetsDir, name + ".yaml");

    [Theory]
    [InlineData("base")]
    [InlineData("character-lora")]
    [InlineData("style-locon")]
    public void Each_preset_loads_without_errors(string name)
    {
        var r = RecipeLoader.LoadFile(Preset(name), RecipeTestRepo.PresetsDir);
        Assert.True(r.Success, r.FormatErrors());
        Assert.Equal(name, r.Recipe!.Name);
        // The colab's default optimizer AdamW8bit is real here (block-wise 8-bit state): nothing to warn about.
        Assert.DoesNotContain(r.Warnings, w => w.KeyPath == "training.optimizer");
    }

    [Fact]
    public void Code_defaults_are_the_colabs()
    {
        // docs/kohya-compatibility.md, "Colab settings and defaults": the main cell, the dataset config and the fixed values.
        var d = new DatasetSettings();
        Assert.Equal((512, false, true, 1, ".txt", 10, true, 64, false), (d.Resolution, d.FlipAug, d.ShuffleTags, d.ActivationTags, d.CaptionExtension, d.NumRepeats, d.EnableBucket, d.BucketResoSteps, d.BucketNoUpscale));
        Assert.Equal((256, 1024), (d.EffectiveMinBucketReso, d.EffectiveMaxBucketReso));
        Assert.Equal((320, 1280), ((d with { Resolution = 768 }).EffectiveMinBucketReso, (d with { Resolution = 768 }).EffectiveMaxBucketReso));
        var t = new TrainingSettings();
        Assert.Equal((PreferredUnit.Epochs, 10, 1, 10, 2), (t.PreferredUnit, t.HowMany, t.SaveEveryNEpochs, t.KeepOnlyLastNEpochs, t.TrainBatchSize));
        Assert.Equal((5e-4, 1e-4, "cosine_with_restarts", 3.0, 0.05), (t.UnetLr, t.TextEncoderLr, t.LrScheduler, t.LrSchedulerNumber, t.LrWarmupRatio));
        Assert.Equal((5.0, 0.0, 2, 225, 42L, "fp16", "AdamW8bit"), (t.MinSnrGamma, t.NoiseOffset, t.ClipSkip, t.MaxTokenLength, t.Seed, t.SavePrecision, t.Optimizer));
        var n = new NetworkSettings();
        Assert.Equal((NetworkType.LoRA, 16, 8.0, 8, 4.0), (n.LoraType, n.NetworkDim, n.NetworkAlpha, n.ConvDim, n.ConvAlpha));
        Assert.Equal("anime", new ModelSettings().Source);
    }

    [Fact]
    public void Base_yaml_equals_the_code_defaults()
    {
        var r = RecipeLoader.LoadFile(Preset("base"), RecipeTestRepo.PresetsDir);
        Assert.True(r.Success, r.FormatErrors());
        Assert.Equal(RecipeCanonical.Json(new Recipe { Name = "base" }), RecipeCanonical.Json(r.Recipe));
    }

    [Fact]
    public void Base_yaml_writes_every_setting_with_a_comment_on_every_line()
    {
        var text = File.ReadAllText(Preset("base"));
        var errors = new List<RecipeDiagnostic>();
        var root = (YMapping)YamlTree.Parse(text, "base.yaml", "base.yaml", errors)!;
        Assert.Empty(errors);
        foreach (var (section, type) in RecipeLoader.Sections)
        {
            var map = Assert.IsType<YMapping>(root.Find(section)!.Value);
            var missing = KeyNames.Keys(type).Keys.Where(k => map.Find(k) == null).ToList();
            Assert.True(missing.Count == 0, $"{section}: missing {string.Join(", ", missing)}");
        }
        var bare = text.Split('\n').Where(l => l.Trim().Length > 0 && !l.Contains('#') && !l.TrimEnd().EndsWith(':')).ToList();
        Assert.True(bare.Count == 0, "lines without a comment: " + string.Join(" | ", bare));
    }

    [Fact]
    public void Character_and_style_have_their_structure()
    {
        var c = RecipeLoader.LoadFile(Preset("character-lora"), RecipeTestRepo.PresetsDir).Recipe!;
        Assert.Equal((NetworkType.LoRA, 16, 8.0), (c.Network.LoraType, c.Network.NetworkDim, c.Network.NetworkAlpha));
        var s = RecipeLoader.LoadFile(Preset("style-locon"), RecipeTestRepo.PresetsDir).Recipe!;
        Assert.Equal((NetworkType.LoCon, 16, 8.0, 8, 4.0), (s.Network.LoraType, s.Network.NetworkDim, s.Network.NetworkAlpha, s.Network.ConvDim, s.Network.ConvAlpha));
        Assert.True(s.Dataset.ShuffleTags);
        Assert.InRange(s.Dataset.ActivationTags, 0, 1);
    }
}
