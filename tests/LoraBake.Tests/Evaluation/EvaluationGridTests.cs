using LoraBake.Evaluation;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Tests.Evaluation;

public sealed class EvaluationGridTests
{
    static readonly EvaluationSettings Defaults = new();

    [Fact]
    public void Defaults_epochs_by_weights_with_baseline_column_seeds_batched()
    {
        var g = EvaluationGrid.Build(Defaults, [1, 2, 3], "mychar");
        Assert.Equal(AxisKind.Epoch, g.X.Kind);
        Assert.Equal(AxisKind.Weight, g.Y.Kind);
        Assert.True(g.Z.IsUnused);
        Assert.Equal(["Baseline (no LoRA)", "Epoch: 1", "Epoch: 2", "Epoch: 3"], g.X.Values.Select(v => v.Label));
        Assert.Equal(["Weight: 0.5", "Weight: 0.6", "Weight: 0.7", "Weight: 0.8", "Weight: 0.9", "Weight: 1.0"], g.Y.Values.Select(v => v.Label));
        Assert.Equal(4 * 6, g.Cells.Count);
        var c = g.At(2, 3, 0);
        Assert.Equal((2, 3, 0), (c.X, c.Y, c.Z));
        Assert.Equal(2, c.Epoch);
        Assert.Equal(0.8, c.Weight);
        Assert.Equal("mychar, solo, looking at viewer", c.Prompt);
        Assert.Equal([1L, 2L], c.Seeds);
        Assert.All(g.Cells.Where(x => x.X == 0), x => Assert.Null(x.Epoch));
        // webui's order: index = x + y·|X| + z·|X|·|Y|.
        Assert.Same(g.Cells[2 + 3 * 4], c);
    }

    [Fact]
    public void Two_prompts_go_on_z()
    {
        var s = Defaults with { Prompts = ["[trigger], a", "[trigger], b"] };
        var g = EvaluationGrid.Build(s, [1, 2], "t");
        Assert.Equal(AxisKind.Prompt, g.Z.Kind);
        Assert.Equal(["t, a", "t, b"], g.Z.Values.Select(v => v.Label));
        Assert.Equal("t, b", g.At(1, 0, 1).Prompt);
    }

    [Theory]
    [InlineData("every 2", new[] { 2, 4, 5 })]
    [InlineData("all", new[] { 1, 2, 3, 4, 5 })]
    [InlineData("1, 3-5", new[] { 1, 3, 4, 5 })]
    public void Epoch_selection_all_every_list(string text, int[] expected) =>
        Assert.Equal(expected, EpochSelection.Select(text, [1, 2, 3, 4, 5], "evaluation.epochs"));

    [Fact]
    public void Epoch_selection_unsaved_epoch_is_user_error()
    {
        var e = Assert.Throws<UserError>(() => EpochSelection.Select("2, 9", [1, 2, 3], "evaluation.epochs"));
        Assert.Contains("evaluation.epochs", e.Message);
        Assert.Contains("9", e.Message);
    }

    [Fact]
    public void Prompt_SR_replaces_in_prompt_and_negative_first_value_is_original()
    {
        var s = Defaults with { Prompts = ["[trigger], red dress"], NegativePrompt = "red hair", XAxis = "Prompt S/R: red, blue, \"green, light\"" };
        var g = EvaluationGrid.Build(s, [1, 2], "me");
        Assert.Equal(AxisKind.PromptSR, g.X.Kind);
        Assert.Equal(AxisKind.Epoch, g.Y.Kind);    // defaults fill the free slots in order
        Assert.Equal(AxisKind.Weight, g.Z.Kind);
        Assert.Equal(["red", "blue", "green, light"], g.X.Values.Select(v => v.Label));
        Assert.Equal(("me, red dress", "red hair"), (g.At(0, 1, 0).Prompt, g.At(0, 1, 0).NegativePrompt));
        Assert.Equal(("me, blue dress", "blue hair"), (g.At(1, 1, 0).Prompt, g.At(1, 1, 0).NegativePrompt));
        Assert.Equal("me, green, light dress", g.At(2, 1, 0).Prompt);
    }

    [Fact]
    public void Prompt_SR_search_only_in_negative_is_accepted_and_trigger_placeholder_works()
    {
        var s = Defaults with { NegativePrompt = "lowres", YAxis = "Prompt S/R: lowres, blurry" };
        Assert.Equal("blurry", EvaluationGrid.Build(s, [1], "t").At(0, 1, 0).NegativePrompt);
        var t = Defaults with { XAxis = "Prompt S/R: [trigger], other person" };
        var g = EvaluationGrid.Build(t, [1], "mychar");
        Assert.Equal("other person, solo, looking at viewer", g.At(1, 0, 0).Prompt);
        Assert.Equal("[trigger]", g.X.Values[0].Label);
    }

    [Fact]
    public void Prompt_SR_search_missing_is_user_error_naming_key()
    {
        var s = Defaults with { ZAxis = "Prompt S/R: hat, cap" };
        var e = Assert.Throws<UserError>(() => EvaluationGrid.Build(s, [1], "t"));
        Assert.Contains("evaluation.z_axis", e.Message);
        Assert.Contains("\"hat\"", e.Message);
    }

    [Fact]
    public void Seed_axis_one_seed_per_cell_weight_fixed_when_not_on_axis()
    {
        var s = Defaults with { YAxis = "Seed: 5-7", Weights = [0.7, 0.9] };
        var g = EvaluationGrid.Build(s, [1, 2], "t");
        // Y = Seed; the free Z slot takes Weight.
        Assert.Equal(AxisKind.Weight, g.Z.Kind);
        Assert.Equal([6L], g.At(1, 1, 1).Seeds);
        Assert.Equal(0.9, g.At(1, 1, 1).Weight);
        var s2 = Defaults with { XAxis = "Seed: 1-2", YAxis = "Epoch: all", ZAxis = "Prompt S/R: solo, duo", Weights = [0.7, 0.9] };
        Assert.All(EvaluationGrid.Build(s2, [1], "t").Cells, c => Assert.Equal(0.9, c.Weight));
    }

    [Fact]
    public void Conflicts_are_user_errors()
    {
        Assert.Contains("both", Assert.Throws<UserError>(() => EvaluationGrid.Build(Defaults with { XAxis = "Weight: 1", YAxis = "Weight: 2" }, [1], "t")).Message);
        Assert.Contains("Epoch", Assert.Throws<UserError>(() =>
            EvaluationGrid.Build(Defaults with { XAxis = "Weight: 1", YAxis = "Seed: 1", ZAxis = "Prompt S/R: solo, duo" }, [1], "t")).Message);
        Assert.Contains("evaluation.prompts", Assert.Throws<UserError>(() =>
            EvaluationGrid.Build(Defaults with { Prompts = ["a", "b"], ZAxis = "Seed: 1" }, [1], "t")).Message);
        Assert.Contains("run the Train", Assert.Throws<UserError>(() => EvaluationGrid.Build(Defaults, [], "t")).Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Empty_trigger_leaves_no_dangling_comma() =>
        Assert.Equal("solo, looking at viewer", EvaluationGrid.Build(Defaults, [1], "").At(0, 0, 0).Prompt);
}
