using LoraBake.Evaluation;
using LoraBake.Recipes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Evaluation;

public sealed class DiagnosisTests
{
    const int S = 48;

    [Fact]
    public void Metrics_on_known_images()
    {
        using var grey = SyntheticImages.Solid(S, S, new Rgb24(128, 128, 128));
        using var red = SyntheticImages.Solid(S, S, new Rgb24(255, 0, 0));
        using var black = SyntheticImages.Solid(S, S, new Rgb24(0, 0, 0));
        using var noise = SyntheticImages.Noise(S, S, 1);
        var g = ImageMetrics.Measure(grey);
        Assert.Equal(new ImageStats(0, 0, 0, 0), g);
        Assert.Equal(1, ImageMetrics.Measure(red).MeanSaturation);
        Assert.Equal(1, ImageMetrics.Measure(black).BlackFraction);
        Assert.True(ImageMetrics.Measure(noise).HighFrequencyEnergy > 0.1);
        Assert.Equal(1, ImageMetrics.MeanAbsoluteDifference(black, SyntheticImages.Solid(S, S, new Rgb24(255, 255, 255))));
        Assert.Equal(0, ImageMetrics.MeanAbsoluteDifference(grey, grey));
        Assert.Null(ImageMetrics.MeanPairwiseDifference([grey]));
    }

    /// <summary>Renders a grid through <paramref name="lora"/>: (request, baseline image) → LoRA image.</summary>
    static (EvaluationGrid, Diagnosis, IReadOnlyList<GroupMeasurement>) Run(Func<RenderRequest, Image<Rgb24>, Image<Rgb24>> lora,
        IReadOnlyList<string>? prompts = null)
    {
        var s = new EvaluationSettings { Weights = [0.5, 1.0], Seeds = [1, 2, 3], Prompts = prompts ?? ["[trigger], a"] };
        var grid = EvaluationGrid.Build(s, [1, 2], "t");
        var cache = new Dictionary<RenderRequest, Image<Rgb24>>();
        Image<Rgb24> Baseline(RenderRequest r) => SyntheticImages.Gradient(S, S, (int)r.Seed * 7 + r.Prompt.Length);
        Image<Rgb24> ImageOf(RenderRequest r) =>
            cache.TryGetValue(r, out var i) ? i : cache[r] = r.IsBaseline ? Baseline(r) : lora(r, Baseline(r));
        var cells = GridMeasurements.MeasureCells(grid, ImageOf);
        var groups = GridMeasurements.Group(cells, ImageOf);
        return (grid, Diagnosis.From(groups), groups);
    }

    [Fact]
    public void Identical_to_baseline_is_undercooked_no_recommendation()
    {
        var (_, d, groups) = Run((_, b) => b);
        Assert.True(d.Undercooked);
        Assert.False(d.Overcooked);
        Assert.False(d.Overfit);
        Assert.Null(d.RecommendedEpoch);
        Assert.All(groups.Where(g => g.Epoch is not null), g => Assert.Equal(0, g.Effect));
        Assert.Contains(d.Findings, f => f.StartsWith("Undercooked", StringComparison.Ordinal));
    }

    [Fact]
    public void Noise_is_overcooked()
    {
        var (_, d, _) = Run((r, b) => SyntheticImages.Noise(S, S, (int)r.Seed));
        Assert.True(d.Overcooked);
        Assert.False(d.Undercooked);
        Assert.Null(d.RecommendedEpoch);
        Assert.Contains(d.Findings, f => f.Contains("high-frequency", StringComparison.Ordinal));
    }

    [Fact]
    public void Black_renders_are_overcooked()
    {
        var (_, d, _) = Run((r, b) => SyntheticImages.Solid(S, S, new Rgb24(0, 0, 0)));
        Assert.True(d.Overcooked);
        Assert.Contains(d.Findings, f => f.Contains("black", StringComparison.Ordinal));
    }

    [Fact]
    public void Seeds_collapsed_is_overfit()
    {
        // Every seed gives the same tinted picture.
        var (_, d, groups) = Run((r, b) => SyntheticImages.Gradient(S, S, 1, tint: 40));
        Assert.True(d.Overfit);
        Assert.All(groups.Where(g => g.Epoch is not null), g => Assert.Equal(0, g.SeedSpread));
    }

    [Fact]
    public void Prompts_collapsed_is_overfit()
    {
        var (_, d, groups) = Run((r, b) => SyntheticImages.Gradient(S, S, (int)r.Seed * 7, tint: 40), ["[trigger], a", "[trigger], a much longer prompt here"]);
        Assert.True(d.Overfit);
        Assert.Contains(d.Findings, f => f.Contains("prompts differ", StringComparison.Ordinal));
    }

    [Fact]
    public void Moderate_tint_growing_with_epoch_and_weight_recommends_latest_epoch_highest_weight()
    {
        var (_, d, groups) = Run((r, b) =>
        {
            var tint = (int)Math.Round(12 * r.Weight * r.Epoch!.Value);
            return SyntheticImages.Gradient(S, S, (int)r.Seed * 7 + r.Prompt.Length, tint);
        });
        var why = string.Join("\n", d.Findings);
        Assert.False(d.Undercooked, why);
        Assert.False(d.Overcooked, why);
        Assert.False(d.Overfit, why);
        Assert.Equal(2, d.RecommendedEpoch);
        Assert.Equal(1.0, d.RecommendedWeight);
        var top = groups.Single(g => g.Epoch == 2 && g.Weight == 1.0);
        Assert.True(top.Effect > Diagnosis.UndercookedEffect);
        Assert.Contains(d.Findings, f => f.StartsWith("Recommended: epoch 2 at weight 1", StringComparison.Ordinal));
    }

    [Fact]
    public void Overcooked_top_weight_recommends_a_lower_weight()
    {
        var (_, d, _) = Run((r, b) => r.Weight >= 1.0 && r.Epoch == 2
            ? SyntheticImages.Noise(S, S, (int)r.Seed)
            : SyntheticImages.Gradient(S, S, (int)r.Seed * 7 + r.Prompt.Length, 25));
        Assert.True(d.Overcooked);
        Assert.Equal((2, 0.5), (d.RecommendedEpoch, d.RecommendedWeight));
    }
}
