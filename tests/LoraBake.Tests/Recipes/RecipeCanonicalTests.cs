using LoraBake.Recipes;

namespace LoraBake.Tests.Recipes;

public sealed class RecipeCanonicalTests : IDisposable
{
    readonly RecipeTestRepo repo = new(withPresets: false);
    public void Dispose() => repo.Dispose();

    Recipe Load(string yaml)
    {
        repo.WriteProject("p", yaml);
        var r = RecipeLoader.Load(repo.Layout, "p");
        Assert.True(r.Success, r.FormatErrors());
        return r.Recipe!;
    }

    [Fact]
    public void Is_sorted_snake_case_and_compact()
    {
        Assert.Equal("""{"conv_alpha":4,"conv_dim":8,"lora_type":"LoRA","network_alpha":8,"network_dim":16}""",
            RecipeCanonical.Json(new NetworkSettings()));
        Assert.Equal("""{"text_encoder_lr":0.0001,"unet_lr":0.0005}""",
            RecipeCanonical.Json(new { new TrainingSettings().UnetLr, new TrainingSettings().TextEncoderLr }));
    }

    [Fact]
    public void Key_order_in_yaml_does_not_matter_values_do()
    {
        var a = Load("training:\n  unet_lr: 3e-4\n  seed: 7\nnetwork:\n  network_dim: 32\n");
        var b = Load("network:\n  network_dim: 32\ntraining:\n  seed: 7\n  unet_lr: 0.0003\n");
        var c = Load("training:\n  unet_lr: 3e-4\n  seed: 8\nnetwork:\n  network_dim: 32\n");
        Assert.Equal(RecipeCanonical.Json(a.Training), RecipeCanonical.Json(b.Training));
        Assert.Equal(RecipeCanonical.Json(a), RecipeCanonical.Json(b));
        Assert.NotEqual(RecipeCanonical.Json(a.Training), RecipeCanonical.Json(c.Training));
        Assert.Equal(RecipeCanonical.Json(a.Network), RecipeCanonical.Json(c.Network));
    }

    [Fact]
    public void Source_path_is_not_fingerprinted()
    {
        var json = RecipeCanonical.Json(new Recipe { Name = "x", SourcePath = "/somewhere/project.yaml" });
        Assert.DoesNotContain("somewhere", json);
        Assert.Contains("\"name\":\"x\"", json);
    }
}
