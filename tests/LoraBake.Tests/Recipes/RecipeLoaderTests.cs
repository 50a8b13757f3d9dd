using LoraBake.Networks;
using System.Diagnostics;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Tests.Recipes;

public sealed class RecipeLoaderTests : IDisposable
{
    readonly RecipeTestRepo repo = new();
    public void Dispose() => repo.Dispose();

    RecipeLoadResult LoadProject(string yaml, string name = "demo2")
    {
        repo.WriteProject(name, yaml);
        return RecipeLoader.Load(repo.Layout, name);
    }

    [Fact]
    public void Misspelt_key_is_reported_with_place_and_suggestion()
    {
        var r = LoadProject("extends: base\ntraining:\n  unet_lrr: 1e-4\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("projects/demo2/project.yaml:3:3: training.unet_lrr: unknown key; did you mean unet_lr?", e.Formatted);
        Assert.Null(r.Recipe);
    }

    [Fact]
    public void Kohya_name_points_to_our_key_and_key_in_wrong_section_names_the_section()
    {
        var r = LoadProject("dataset:\n  keep_tokens: 1\ntraining:\n  network_dim: 32\n");
        Assert.Equal(2, r.Errors.Count);
        Assert.Contains("dataset.activation_tags", r.Errors[0].Message);
        Assert.Equal("training.network_dim", r.Errors[1].KeyPath);
        Assert.Contains("network: section", r.Errors[1].Message);
    }

    [Fact]
    public void Out_of_range_reports_value_found_and_allowed_range()
    {
        var r = LoadProject("network:\n  network_dim: 200\ndataset:\n  resolution: 600\n");
        Assert.Equal(2, r.Errors.Count);
        Assert.Equal("projects/demo2/project.yaml:2:16: network.network_dim: 200 is out of range; allowed 1–128", r.Errors[0].Formatted);
        Assert.Equal("dataset.resolution", r.Errors[1].KeyPath);
        Assert.StartsWith("600 is not allowed; use 512, 640, 768, 896 or 1024", r.Errors[1].Message);
    }

    [Fact]
    public void Enum_value_lists_allowed_values_and_suggests()
    {
        var r = LoadProject("training:\n  lr_scheduler: cosine_with_restart\n  optimizer: Lion8bit\n  max_token_length: 100\n");
        Assert.Equal(3, r.Errors.Count);
        Assert.Contains("\"cosine_with_restart\" is not one of constant, constant_with_warmup, cosine, cosine_with_restarts, linear, polynomial; did you mean cosine_with_restarts?", r.Errors[0].Message);
        Assert.Equal("\"Lion8bit\" is not supported yet; use one of AdamW8bit, AdamW, Lion, Prodigy, DAdaptAdam, DAdaptLion, AdaFactor, SGDNesterov", r.Errors[1].Message);
        Assert.Equal("100 is not allowed; use 75, 150 or 225", r.Errors[2].Message);
    }

    [Fact]
    public void Yaml_syntax_error_becomes_diagnostic_with_line_and_column()
    {
        var r = LoadProject("training:\n  unet_lr: 1e-4\n  seed: [1, 2\nnetwork:\n  network_dim: 8\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("projects/demo2/project.yaml", e.File);
        Assert.StartsWith("YAML syntax error:", e.Message);
        Assert.True(e.Line >= 3, $"line {e.Line}");
        Assert.True(e.Column >= 1);
    }

    [Fact]
    public void Duplicate_key_reports_both_positions_and_other_errors_still_collected()
    {
        var r = LoadProject("training:\n  unet_lr: 1e-4\n  seed: 1\n  unet_lr: 2e-4\nnetwork:\n  network_dim: 0\n");
        Assert.Equal(2, r.Errors.Count);
        Assert.Equal("projects/demo2/project.yaml:4:3: unet_lr: duplicate key (first at 2:3, again at 4:3); keep one of them", r.Errors[0].Formatted);
        Assert.Equal("network.network_dim", r.Errors[1].KeyPath);
    }

    [Fact]
    public void Three_errors_in_one_file_give_three_diagnostics()
    {
        var r = LoadProject("""
            dataset:
              resolution: 513
            training:
              train_batch_size: 0
              lr_scheduler: cosinus_annealing
            """);
        Assert.Equal(3, r.Errors.Count);
        Assert.Equal(["dataset.resolution", "training.train_batch_size", "training.lr_scheduler"], r.Errors.Select(e => e.KeyPath));
        Assert.Equal([2, 4, 5], r.Errors.Select(e => e.Line));
        Assert.Contains("0 is out of range; allowed 1–64", r.Errors[1].Message);
        var ex = Assert.Throws<UserError>(() => r.ThrowIfErrors());
        Assert.Contains("3 problems", ex.Message);
        foreach (var e in r.Errors) Assert.Contains(e.Formatted, ex.Message);
    }

    [Fact]
    public void Type_errors_name_the_value_found()
    {
        var r = LoadProject("training:\n  how_many: ten\n  train_batch_size: 2.5\n  weighted_captions: maybe\n");
        Assert.Equal(["\"ten\" is not a whole number", "2.5 must be a whole number", "\"maybe\" is not true or false"], r.Errors.Select(e => e.Message));
    }

    [Fact]
    public void Extends_chain_merges_sections_key_by_key_and_lists_replace()
    {
        repo.WriteRecipe("grand", "training:\n  unet_lr: 1e-3\n  seed: 7\nevaluation:\n  seeds: [1, 2, 3]\n  steps: 30\n");
        repo.WriteRecipe("parent", "extends: grand\ntraining:\n  seed: 8\nevaluation:\n  seeds: [9]\n");
        var r = LoadProject("extends: parent\ntraining:\n  text_encoder_lr: 0\n");
        Assert.Empty(r.Errors);
        var t = r.Recipe!.Training;
        Assert.Equal(1e-3, t.UnetLr);          // from grand
        Assert.Equal(8, t.Seed);               // parent overrides grand
        Assert.Equal(0, t.TextEncoderLr);      // project
        Assert.Equal(3, t.LrSchedulerNumber);  // default
        Assert.Equal([9L], r.Recipe.Evaluation.Seeds); // list replaced, not appended
        Assert.Equal(30, r.Recipe.Evaluation.Steps);
        Assert.Equal("demo2", r.Recipe.Name);
    }

    [Fact]
    public void Empty_section_in_child_keeps_the_parents_section_but_explicit_null_replaces_a_scalar()
    {
        repo.WriteRecipe("parent", "training:\n  seed: 8\nmodel:\n  vae: https://example.com/vae.safetensors\n");
        var r = LoadProject("extends: parent\ntraining:\n#  seed: 9\nmodel:\n  vae: null\n");
        Assert.True(r.Success, r.FormatErrors());
        Assert.Equal(8, r.Recipe!.Training.Seed);
        Assert.Null(r.Recipe.Model.Vae);
    }

    [Fact]
    public void Errors_in_a_preset_point_into_the_preset_file()
    {
        repo.WriteRecipe("broken", "network:\n  conv_dim: 65\n");
        var r = LoadProject("extends: broken\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("recipes/broken.yaml:2:13: network.conv_dim: 65 is out of range; allowed 1–64", e.Formatted);
    }

    [Fact]
    public void Extends_cycle_is_an_error_naming_the_chain()
    {
        repo.WriteRecipe("a", "extends: b\n");
        repo.WriteRecipe("b", "extends: a\n");
        var r = RecipeLoader.LoadFile(Path.Combine(repo.Layout.RecipesDir, "a.yaml"), repo.Layout.RecipesDir);
        var e = Assert.Single(r.Errors);
        Assert.Contains("extends cycle: a -> b -> a", e.Message);
        Assert.Equal("recipes/b.yaml", e.File);
    }

    [Fact]
    public void Unknown_preset_suggests_the_closest()
    {
        var r = LoadProject("extends: charcter-lora\n");
        var e = Assert.Single(r.Errors);
        Assert.Contains("did you mean character-lora?", e.Message);
        Assert.Equal("extends", e.KeyPath);
    }

    [Fact]
    public void Alias_bomb_fails_fast()
    {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
        for (int i = 1; i < 10; i++)
            yaml += $"{(char)('a' + i)}: &{(char)('a' + i)} [{string.Join(", ", Enumerable.Repeat($"*{(char)('a' + i - 1)}", 10))}]\n";
        var sw = Stopwatch.StartNew();
        var r = LoadProject(yaml);
        sw.Stop();
        var e = Assert.Single(r.Errors);
        Assert.Contains("alias bomb", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Deep_nesting_is_refused_without_exhausting_the_stack()
    {
        var r = LoadProject("training: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        Assert.Contains("nests deeper than 64", Assert.Single(r.Errors).Message);
    }

    [Fact]
    public void Small_aliases_are_expanded()
    {
        var r = LoadProject("evaluation:\n  negative_prompt: &n \"lowres\"\n  prompts: [*n, *n]\n  seeds: &s [3, 4]\n");
        Assert.Empty(r.Errors);
        Assert.Equal(["lowres", "lowres"], r.Recipe!.Evaluation.Prompts);
        Assert.Equal([3L, 4L], r.Recipe.Evaluation.Seeds);
    }

    [Fact]
    public void Colab_forms_are_accepted()
    {
        var r = LoadProject("""
            training:
              min_snr_gamma: false
              preferred_unit: Steps
              how_many: 1200
              optimizer: adamw
            network:
              lora_type: locon
            evaluation:
              sampler: Euler a
              epochs: [2, 4]
            """);
        Assert.Empty(r.Errors);
        var rec = r.Recipe!;
        Assert.Null(rec.Training.MinSnrGamma);
        Assert.Equal(PreferredUnit.Steps, rec.Training.PreferredUnit);
        Assert.Equal("AdamW", rec.Training.Optimizer);
        Assert.Equal(NetworkType.LoCon, rec.Network.LoraType);
        Assert.Equal("euler_a", rec.Evaluation.Sampler);
        Assert.Equal("2,4", rec.Evaluation.Epochs);

        r = LoadProject("training:\n  min_snr_gamma: true\nevaluation:\n  sampler: DPM++ 2M Karras\n");
        Assert.Equal(5.0, r.Recipe!.Training.MinSnrGamma);
        Assert.Equal("dpmpp_2m_karras", r.Recipe.Evaluation.Sampler);
    }

    [Fact]
    public void Warnings_for_big_batch_and_too_many_steps()
    {
        var r = LoadProject("training:\n  preferred_unit: steps\n  how_many: 12000\n  train_batch_size: 16\n");
        Assert.Empty(r.Errors);
        Assert.Contains(r.Warnings, w => w.KeyPath == "training.how_many" && w.Message.Contains("10,000"));
        Assert.Contains(r.Warnings, w => w.KeyPath == "training.train_batch_size");
    }

    [Fact]
    public void Too_many_epoch_steps_warns_from_the_dataset_count()
    {
        repo.WriteProject("big", "training:\n  how_many: 20\n  train_batch_size: 1\n");
        var data = Path.Combine(repo.Layout.ProjectDir("big"), "dataset", "60_big");
        Directory.CreateDirectory(data);
        for (int i = 0; i < 10; i++) File.WriteAllBytes(Path.Combine(data, $"{i}.png"), []);
        var r = RecipeLoader.Load(repo.Layout, "big");
        Assert.Empty(r.Errors);
        // 10 images × 60 repeats / batch 1 = 600 steps per epoch × 20 epochs = 12,000 steps.
        Assert.Contains(r.Warnings, w => w.KeyPath == "training.how_many" && w.Message.Contains("12,000"));
    }

    [Fact]
    public void Model_source_local_path_must_exist_urls_are_normalised()
    {
        var r = LoadProject("model:\n  source: models/missing.safetensors\n");
        var e = Assert.Single(r.Errors);
        Assert.Equal("model.source", e.KeyPath);
        Assert.Contains(Path.Combine(repo.Layout.ProjectDir("demo2"), "models", "missing.safetensors"), e.Message);

        File.WriteAllBytes(Path.Combine(repo.Layout.ProjectDir("demo2"), "base.safetensors"), [0]);
        Assert.Empty(LoadProject("model:\n  source: base.safetensors\n").Errors);
        Assert.Single(LoadProject("model:\n  source: builtin:huge\n").Errors);

        var hf = ModelSource.Resolve("https://huggingface.co/a/b/blob/main/m.safetensors", null, ".", out var err)!;
        Assert.Null(err);
        Assert.Equal("https://huggingface.co/a/b/resolve/main/m.safetensors", hf.Location);
        Assert.Equal("m.safetensors", hf.FileName);
        var civ = ModelSource.Resolve("https://civitai.com/models/123/name?modelVersionId=456", null, ".", out _)!;
        Assert.Equal("https://civitai.com/api/download/models/456", civ.Location);
        var preset = ModelSource.Resolve("AnyLora", null, ".", out _)!;
        Assert.Equal(ModelSourceKind.Preset, preset.Kind);
        Assert.Equal("AnyLoRA_noVae_fp16-pruned.ckpt", preset.FileName);
    }

    [Fact]
    public void Missing_project_is_one_diagnostic_and_load_or_throw_throws()
    {
        var r = RecipeLoader.Load(repo.Layout, "nothere");
        Assert.Contains("lorabake new nothere", Assert.Single(r.Errors).Message);
        Assert.Throws<UserError>(() => RecipeLoader.LoadOrThrow(repo.Layout, "nothere"));
    }

    [Fact]
    public void Subsets_are_bound_and_validated_per_item()
    {
        foreach (var sub in new[] { "a", "reg" }) Directory.CreateDirectory(Path.Combine(repo.Layout.ProjectDir("demo2"), "dataset", sub));
        var r = LoadProject("""
            dataset:
              subsets:
                - path: dataset/a
                  num_repeats: 5
                - path: dataset/reg
                  is_reg: true
                  num_repeats: 0
            """);
        var e = Assert.Single(r.Errors);
        Assert.Equal("dataset.subsets[1].num_repeats", e.KeyPath);
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void An_empty_recipe_is_an_error_not_all_defaults()
    {
        foreach (var text in new[] { "", "# only a comment\n" })
        {
            var path = Path.Combine(repo.Layout.RecipesDir, "empty.yaml");
            File.WriteAllText(path, text);
            var r = RecipeLoader.LoadFile(path, repo.Layout.RecipesDir);
            Assert.Null(r.Recipe);
            Assert.Contains(r.Errors, e => e.Message.Contains("the recipe is empty", StringComparison.Ordinal) && e.File == "recipes/empty.yaml");
        }
    }
}
