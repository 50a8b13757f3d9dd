using LoraBake.Recipes;

namespace LoraBake.Tests.Recipes;

/// <summary>
/// Every rule that training would enforce is reported when the recipe loads (plan, every stage), with
/// file:line:col: optimizer arguments and the adaptive optimizers' LR rule, continue_from_lora's file,
/// LoRA tags in evaluation prompts.
/// </summary>
public sealed class PlanTimeChecksTests : IDisposable
{
    readonly RecipeTestRepo repo = new();
    public void Dispose() => repo.Dispose();

    RecipeLoadResult Load(string yaml, string name = "p")
    {
        repo.WriteProject(name, yaml);
        return RecipeLoader.Load(repo.Layout, name);
    }

    [Fact]
    public void Prodigy_with_the_presets_two_learning_rates_is_refused_at_the_recipe()
    {
        // base.yaml's unet_lr 5e-4 and text_encoder_lr 1e-4 without the colab's override: Prodigy raises on two LRs;
        // before, only inside Train-Epoch-01, after Download and Process had run.
        var r = Load("extends: base\ntraining:\n  optimizer: Prodigy\n  override_values_for_dadapt_and_prodigy: false\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("training.text_encoder_lr", e.KeyPath);
        Assert.Contains("Prodigy adapts one step size for all parameters", e.Message);
        Assert.Matches(@"^recipes/base\.yaml:\d+:\d+: training\.text_encoder_lr: ", e.Formatted);
    }

    [Fact]
    public void Prodigy_with_equal_rates_or_the_unet_only_loads()
    {
        Assert.True(Load("training:\n  optimizer: Prodigy\n  override_values_for_dadapt_and_prodigy: false\n  unet_lr: 1.0\n  text_encoder_lr: 1.0\n").Success);
        Assert.True(Load("training:\n  optimizer: Prodigy\n  override_values_for_dadapt_and_prodigy: false\n  unet_lr: 1.0\n  text_encoder_lr: 0\n").Success);
    }

    [Fact]
    public void The_colabs_override_sets_its_values_for_Prodigy_and_says_so()
    {
        var r = Load("extends: base\ntraining:\n  optimizer: Prodigy\nnetwork:\n  network_dim: 32\n  network_alpha: 16\n");
        Assert.True(r.Success, r.FormatErrors());
        var t = r.Recipe!.Training;
        Assert.Equal((0.5, 0.5, "constant_with_warmup", 0.05), (t.UnetLr, t.TextEncoderLr, t.LrScheduler, t.LrWarmupRatio));
        Assert.Equal(32, r.Recipe.Network.NetworkAlpha);
        Assert.Equal(["decouple=True", "weight_decay=0.01", "betas=[0.9,0.999]", "d_coef=2", "use_bias_correction=True", "safeguard_warmup=True"], t.OptimizerArgs);
        var w = Assert.Single(r.Warnings, w => w.KeyPath == "training.override_values_for_dadapt_and_prodigy");
        Assert.Contains("unet_lr 0.5 (was 0.0005)", w.Message);
        Assert.StartsWith("projects/p/project.yaml:3:14: ", w.Formatted);
        Assert.Equal("Prodigy with the colab's override (override_values_for_dadapt_and_prodigy): unet_lr 0.5, text_encoder_lr 0.5, lr_scheduler constant_with_warmup, " +
                     "lr_warmup_ratio 0.05, network_alpha 32, optimizer_args [decouple=True, weight_decay=0.01, betas=[0.9,0.999], d_coef=2, use_bias_correction=True, safeguard_warmup=True]",
            AdaptiveOptimizerOverride.Describe(r.Recipe));
        // Own optimizer_args are kept; other optimizers are untouched.
        r = Load("training:\n  optimizer: DAdaptAdam\n  optimizer_args: [decouple=True]\n");
        Assert.Equal(["decouple=True"], r.Recipe!.Training.OptimizerArgs);
        Assert.Equal(0.5, r.Recipe.Training.UnetLr);
        r = Load("training:\n  optimizer: AdamW\n");
        Assert.Equal(5e-4, r.Recipe!.Training.UnetLr);
        Assert.Null(AdaptiveOptimizerOverride.Describe(r.Recipe));
    }

    [Fact]
    public void An_unknown_or_wrongly_typed_optimizer_argument_is_reported_at_its_line()
    {
        var r = Load("training:\n  optimizer: Prodigy\n  unet_lr: 1.0\n  text_encoder_lr: 1.0\n  optimizer_args: [d_coeff=2]\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("projects/p/project.yaml:5:19: training.optimizer_args: Prodigy does not take 'd_coeff'. Check the spelling or remove it.", e.Formatted);

        r = Load("training:\n  optimizer: AdamW\n  optimizer_args: [\"betas=0.9\"]\n");
        Assert.Contains("'betas' must be a pair of numbers", Assert.Single(r.Errors).Message);

        r = Load("training:\n  optimizer: DAdaptAdam\n  unet_lr: 1.0\n  text_encoder_lr: 1.0\n  optimizer_args: [d0=0]\n");
        Assert.Contains("d0 must be > 0", Assert.Single(r.Errors).Message);
    }

    [Fact]
    public void Each_colab_optimizer_loads_with_its_arguments()
    {
        foreach (var (name, args) in new[]
                 {
                     ("AdamW8bit", "[weight_decay=0.1, \"betas=[0.9,0.99]\"]"), ("DAdaptAdam", "[decouple=True, weight_decay=0.01]"),
                     ("DAdaptLion", "[weight_decay=0.01]"), ("AdaFactor", "[scale_parameter=False, relative_step=False, warmup_init=False]"),
                     ("SGDNesterov", "[momentum=0.8]"), ("DAdaptation", "[]"),
                 })
        {
            var lrs = OptimizerNeedsOneLr(name) ? "  unet_lr: 1.0\n  text_encoder_lr: 1.0\n" : "";
            var r = Load($"training:\n  optimizer: {name}\n{lrs}  optimizer_args: {args}\n");
            Assert.True(r.Success, name + ": " + r.FormatErrors());
        }
    }

    static bool OptimizerNeedsOneLr(string name) => name.StartsWith("DAdapt", StringComparison.Ordinal);

    [Fact]
    public void AdaFactor_with_relative_step_warns_that_the_learning_rates_are_ignored()
    {
        var r = Load("training:\n  optimizer: AdaFactor\n");
        Assert.True(r.Success, r.FormatErrors());
        Assert.Contains(r.Warnings, w => w.KeyPath == "training.optimizer" && w.Message.Contains("unet_lr, text_encoder_lr and lr_scheduler are ignored"));
    }

    [Fact]
    public void Continue_from_lora_as_a_url_is_refused_with_what_to_do()
    {
        var r = Load("training:\n  continue_from_lora: https://example.com/x.safetensors\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("training.continue_from_lora", e.KeyPath);
        Assert.Contains("is a URL; continue_from_lora takes a local file", e.Message);
        Assert.StartsWith("projects/p/project.yaml:2:23: ", e.Formatted);
    }

    [Fact]
    public void Continue_from_lora_is_found_relative_to_the_project_folder()
    {
        repo.WriteProject("p", "training:\n  continue_from_lora: start.safetensors\n");
        Assert.False(RecipeLoader.Load(repo.Layout, "p").Success);
        File.WriteAllBytes(Path.Combine(repo.Layout.ProjectDir("p"), "start.safetensors"), [1]);
        Assert.True(RecipeLoader.Load(repo.Layout, "p").Success);
    }

    [Fact]
    public void An_evaluation_axis_evaluate_could_not_build_is_reported_at_its_line()
    {
        // Before, "CFG Scale" (not an axis here) failed only when Evaluate ran, after training.
        var r = Load("evaluation:\n  x_axis: \"CFG Scale: 3, 9\"\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("projects/p/project.yaml:2:11: evaluation.x_axis: unknown axis type \"CFG Scale\". Use one of Epoch, Weight, Prompt, Seed, Prompt S/R.", e.Formatted);
    }

    [Fact]
    public void An_explicit_subset_folder_that_does_not_exist_is_reported_at_its_line()
    {
        var r = Load("dataset:\n  subsets:\n    - {path: dataset/extra, num_repeats: 2}\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("dataset.subsets[0].path", e.KeyPath);
        Assert.StartsWith("projects/p/project.yaml:3:14: ", e.Formatted);
        Assert.Contains("does not exist; subset paths are relative to the project folder", e.Message);
    }
}
