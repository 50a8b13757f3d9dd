using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>One cell's numbers: image stats averaged over its seeds, effect against its baseline, spread across seeds.</summary>
/// <param name="Effect">Mean over seeds of <see cref="ImageMetrics.MeanAbsoluteDifference"/> against the baseline render with the same prompt, negative and seed; null for baseline cells.</param>
/// <param name="SeedSpread">Mean pairwise difference between the cell's seeds; null with one seed.</param>
/// <param name="ConceptScore">Mean over seeds of the concept detector's score in [0, 1] (toy-world projects); null when no detector applies.</param>
public sealed record CellMeasurement(GridCell Cell, ImageStats Stats, double? Effect, double? SeedSpread, double? ConceptScore = null);

/// <summary>
/// The numbers for one (epoch, weight) over all its prompts and seeds, beside the baseline's for the same
/// prompts and seeds. <see cref="Epoch"/> null is the baseline itself.
/// </summary>
public sealed record GroupMeasurement
{
    public required int? Epoch { get; init; }
    public required double Weight { get; init; }
    public required int Cells { get; init; }
    public required double Effect { get; init; }
    public required ImageStats Stats { get; init; }
    public required ImageStats BaselineStats { get; init; }
    public double? SeedSpread { get; init; }
    public double? BaselineSeedSpread { get; init; }
    /// <summary>Mean pairwise difference between different prompts at the same seed; null with one prompt.</summary>
    public double? PromptSpread { get; init; }
    public double? BaselinePromptSpread { get; init; }
    /// <summary>Mean concept score of the group's cells and of their baselines (toy-world projects); null without a detector.</summary>
    public double? ConceptScore { get; init; }
    public double? BaselineConceptScore { get; init; }

    /// <summary>Concept score minus the baseline's; null without a detector.</summary>
    public double? ConceptGain => ConceptScore is { } c ? c - (BaselineConceptScore ?? 0) : null;

    public double SaturationJump => Stats.MeanSaturation - BaselineStats.MeanSaturation;
    /// <summary>High-frequency energy relative to the baseline's (1 = same).</summary>
    public double HighFrequencyRatio => Stats.HighFrequencyEnergy / Math.Max(BaselineStats.HighFrequencyEnergy, 1e-9);
}

/// <summary>Measures a rendered grid: per cell and per (epoch, weight).</summary>
public static class GridMeasurements
{
    /// <param name="imageOf">The rendered image of one render request (the caller's cache lookup).</param>
    /// <param name="conceptScore">A concept detector (score in [0, 1] per image), or null when the project has none.</param>
    public static IReadOnlyList<CellMeasurement> MeasureCells(EvaluationGrid grid, Func<RenderRequest, Image<Rgb24>> imageOf,
        Func<Image<Rgb24>, double>? conceptScore = null)
    {
        var pixels = Pixels(imageOf);
        var statsCache = new Dictionary<RenderRequest, ImageStats>();
        ImageStats StatsOf(RenderRequest r) =>
            statsCache.TryGetValue(r, out var s) ? s : statsCache[r] = ImageMetrics.Measure(imageOf(r));

        var result = new List<CellMeasurement>();
        foreach (var cell in grid.Cells)
        {
            var renders = cell.Renders();
            var stats = ImageStats.Mean(renders.Select(StatsOf).ToList());
            double? effect = null;
            if (!cell.IsBaseline)
                effect = renders.Average(r => ImageMetrics.MeanAbsoluteDifference(pixels(r), pixels(BaselineOf(r))));
            var spread = ImageMetrics.MeanPairwiseDifference(renders.Select(pixels).ToList());
            double? concept = conceptScore is null ? null : renders.Average(r => conceptScore(imageOf(r)));
            result.Add(new CellMeasurement(cell, stats, effect, spread, concept));
        }
        return result;
    }

    /// <summary>The baseline render a LoRA render is compared with: same everything, no LoRA.</summary>
    public static RenderRequest BaselineOf(RenderRequest r) => r with { Epoch = null, Weight = 0 };

    /// <summary>Groups cell measurements by (epoch, weight); the baseline group first, then epochs and weights ascending.</summary>
    public static IReadOnlyList<GroupMeasurement> Group(IReadOnlyList<CellMeasurement> cells, Func<RenderRequest, Image<Rgb24>> imageOf)
    {
        var pixels = Pixels(imageOf);
        var baselines = cells.Where(c => c.Cell.IsBaseline)
            .GroupBy(c => (c.Cell.Prompt, c.Cell.NegativePrompt, Seeds: string.Join(",", c.Cell.Seeds)))
            .ToDictionary(g => g.Key, g => g.First());
        CellMeasurement BaselineCell(GridCell c) => baselines[(c.Prompt, c.NegativePrompt, string.Join(",", c.Seeds))];

        var groups = cells.GroupBy(c => (c.Cell.Epoch, Weight: c.Cell.IsBaseline ? 0 : c.Cell.Weight))
            .OrderBy(g => g.Key.Epoch ?? -1).ThenBy(g => g.Key.Weight);
        var result = new List<GroupMeasurement>();
        foreach (var g in groups)
        {
            // The baseline shows once per row; count each distinct baseline cell once.
            var members = g.Key.Epoch is null
                ? g.DistinctBy(c => (c.Cell.Prompt, c.Cell.NegativePrompt, string.Join(",", c.Cell.Seeds))).ToList()
                : g.ToList();
            var bases = members.Select(c => BaselineCell(c.Cell)).ToList();
            result.Add(new GroupMeasurement
            {
                Epoch = g.Key.Epoch,
                Weight = g.Key.Weight,
                Cells = members.Count,
                Effect = members.Average(c => c.Effect ?? 0),
                Stats = ImageStats.Mean(members.Select(c => c.Stats).ToList()),
                BaselineStats = ImageStats.Mean(bases.Select(c => c.Stats).ToList()),
                SeedSpread = AverageOrNull(members.Select(c => c.SeedSpread)),
                BaselineSeedSpread = AverageOrNull(bases.Select(c => c.SeedSpread)),
                PromptSpread = PromptSpread(members.Select(c => c.Cell).ToList(), pixels),
                BaselinePromptSpread = PromptSpread(bases.Select(c => c.Cell).ToList(), pixels),
                ConceptScore = AverageOrNull(members.Select(c => c.ConceptScore)),
                BaselineConceptScore = AverageOrNull(bases.Select(c => c.ConceptScore)),
            });
        }
        return result;
    }

    /// <summary>Per seed, the mean pairwise difference between distinct prompts; averaged over seeds.</summary>
    static double? PromptSpread(IReadOnlyList<GridCell> cells, Func<RenderRequest, byte[]> pixels)
    {
        var perSeed = cells.SelectMany(c => c.Renders())
            .GroupBy(r => r.Seed)
            .Select(g => ImageMetrics.MeanPairwiseDifference(g.DistinctBy(r => (r.Prompt, r.NegativePrompt)).Select(pixels).ToList()))
            .Where(v => v is not null)
            .ToList();
        return perSeed.Count == 0 ? null : perSeed.Average();
    }

    /// <summary>Each render's RGB bytes, decoded once.</summary>
    static Func<RenderRequest, byte[]> Pixels(Func<RenderRequest, Image<Rgb24>> imageOf)
    {
        var cache = new Dictionary<RenderRequest, byte[]>();
        return r => cache.TryGetValue(r, out var b) ? b : cache[r] = ImageMetrics.ToRgb(imageOf(r));
    }

    static double? AverageOrNull(IEnumerable<double?> values)
    {
        var v = values.Where(x => x is not null).Select(x => x!.Value).ToList();
        return v.Count == 0 ? null : v.Average();
    }
}
