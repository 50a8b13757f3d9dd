using System.Globalization;

namespace LoraBake.Evaluation;

/// <summary>What the diagnosis says about one (epoch, weight).</summary>
public sealed record GroupVerdict(GroupMeasurement Measurement, bool Weak, bool Overcooked, bool Overfit, IReadOnlyList<string> Reasons)
{
    public bool Acceptable => !Weak && !Overcooked && !Overfit;
}

/// <summary>
/// A rough reading of a rendered grid, from pixel statistics only. Every threshold below is a heuristic picked
/// to catch the obvious failures users report (black or fried images, no visible effect, every seed the same
/// picture); none is calibrated, and a human look at the grid outranks it.
/// <list type="bullet">
/// <item>undercooked: on the latest epoch, at its highest weight, the effect against the baseline is below
/// <see cref="UndercookedEffect"/>.</item>
/// <item>overcooked (per epoch and weight): over <see cref="DegenerateFraction"/> of pixels near-black (NaN
/// renders decode to black) or near-white, or saturation up by more than <see cref="SaturationJump"/>, or
/// high-frequency energy above <see cref="HighFrequencyRatio"/> × the baseline's.</item>
/// <item>overfit (per epoch and weight): the spread between seeds, or between prompts, is below
/// <see cref="OverfitSpreadRatio"/> × the baseline's spread for the same seeds and prompts.</item>
/// <item>recommendation: going from the latest epoch back, the first epoch with an acceptable weight (effect at
/// least <see cref="UndercookedEffect"/>, not overcooked, not overfit); in it, the highest such weight.</item>
/// </list>
/// In a toy-world project (the groups carry a <see cref="GroupMeasurement.ConceptScore"/>) the concept detector replaces
/// the pixel effect: a group is weak when its concept score beats the baseline's by less than <see cref="ConceptMargin"/>,
/// and also overcooked when its score fell more than <see cref="ConceptMargin"/> below a lower weight of the same epoch
/// (pushing the LoRA harder destroyed the concept).
/// </summary>
public sealed record Diagnosis
{
    /// <summary>Toy world: the concept counts as learnt when its score (0–1) beats the baseline's by 0.3 or more.</summary>
    public const double ConceptMargin = 0.3;
    /// <summary>Heuristic: mean absolute pixel difference against the baseline below 3% of full range reads as "no effect".</summary>
    public const double UndercookedEffect = 0.03;
    /// <summary>Heuristic: half the picture black (or white) is a broken render, not a style.</summary>
    public const double DegenerateFraction = 0.5;
    /// <summary>Heuristic: mean HSV saturation rising by more than 0.25 (of 1) is the "fried" look.</summary>
    public const double SaturationJump = 0.25;
    /// <summary>Heuristic: 2.5× the baseline's Laplacian energy is noise and artefacts rather than detail.</summary>
    public const double HighFrequencyRatio = 2.5;
    /// <summary>Heuristic: seeds (or prompts) differing less than 35% as much as without the LoRA have collapsed to one picture.</summary>
    public const double OverfitSpreadRatio = 0.35;

    public required bool Undercooked { get; init; }
    public required bool Overcooked { get; init; }
    public required bool Overfit { get; init; }
    public required int? RecommendedEpoch { get; init; }
    public required double? RecommendedWeight { get; init; }
    /// <summary>Sentences with the numbers behind each flag and the recommendation.</summary>
    public required IReadOnlyList<string> Findings { get; init; }
    public required IReadOnlyList<GroupVerdict> Groups { get; init; }

    public static Diagnosis From(IReadOnlyList<GroupMeasurement> groups)
    {
        var verdicts = groups.Where(g => g.Epoch is not null).Select(g => Judge(g, groups)).ToList();
        var findings = new List<string>();
        if (verdicts.Count == 0)
            return new Diagnosis { Undercooked = false, Overcooked = false, Overfit = false, RecommendedEpoch = null, RecommendedWeight = null,
                Findings = ["No LoRA cells were measured."], Groups = verdicts };

        var latest = verdicts.Max(v => v.Measurement.Epoch!.Value);
        var top = verdicts.Where(v => v.Measurement.Epoch == latest).MaxBy(v => v.Measurement.Weight)!;
        var undercooked = top.Measurement.ConceptGain is { } gain ? gain < ConceptMargin : top.Measurement.Effect < UndercookedEffect;
        if (undercooked && top.Measurement.ConceptGain is { } g)
            findings.Add($"Undercooked: at epoch {latest}, weight {F(top.Measurement.Weight)}, the concept score is {F(top.Measurement.ConceptScore!.Value)} against "
                + $"{F(top.Measurement.BaselineConceptScore ?? 0)} without the LoRA (gain {F(g)}, needed {F(ConceptMargin)}). Train longer or raise the learning rate.");
        else if (undercooked)
            findings.Add($"Undercooked: at epoch {latest}, weight {F(top.Measurement.Weight)}, the images differ from the baseline by only "
                + $"{P(top.Measurement.Effect)} (threshold {P(UndercookedEffect)}). Train longer or raise the learning rate.");
        foreach (var v in verdicts.Where(v => v.Overcooked || v.Overfit))
            findings.Add($"Epoch {v.Measurement.Epoch}, weight {F(v.Measurement.Weight)}: {string.Join("; ", v.Reasons)}.");

        GroupVerdict? pick = null;
        foreach (var epoch in verdicts.Select(v => v.Measurement.Epoch!.Value).Distinct().OrderDescending())
        {
            pick = verdicts.Where(v => v.Measurement.Epoch == epoch && v.Acceptable).MaxBy(v => v.Measurement.Weight);
            if (pick is not null) break;
        }
        if (pick is { } p)
            findings.Add($"Recommended: epoch {p.Measurement.Epoch} at weight {F(p.Measurement.Weight)} — "
                + (p.Measurement.ConceptScore is { } cs ? $"concept score {F(cs)} (baseline {F(p.Measurement.BaselineConceptScore ?? 0)}), " : "")
                + $"effect {P(p.Measurement.Effect)}, "
                + $"saturation {Signed(p.Measurement.SaturationJump)} against the baseline, high-frequency energy ×{F(p.Measurement.HighFrequencyRatio)}"
                + (p.Measurement.SeedSpread is { } ss && p.Measurement.BaselineSeedSpread is { } bs ? $", seed spread {P(ss)} (baseline {P(bs)})" : "")
                + ". Rule: the latest epoch with a weight that has a visible effect and is neither overcooked nor overfit; its highest such weight.");
        else
            findings.Add("No epoch and weight passed every check; look at the grid to choose by eye.");

        return new Diagnosis
        {
            Undercooked = undercooked,
            Overcooked = verdicts.Any(v => v.Overcooked),
            Overfit = verdicts.Any(v => v.Overfit),
            RecommendedEpoch = pick?.Measurement.Epoch,
            RecommendedWeight = pick?.Measurement.Weight,
            Findings = findings,
            Groups = verdicts,
        };
    }

    static GroupVerdict Judge(GroupMeasurement m, IReadOnlyList<GroupMeasurement> all)
    {
        var reasons = new List<string>();
        var over = false;
        bool weak;
        if (m.ConceptGain is { } gain)
        {
            weak = gain < ConceptMargin;
            if (weak) reasons.Add($"concept score {F(m.ConceptScore!.Value)} beats the baseline's {F(m.BaselineConceptScore ?? 0)} by less than {F(ConceptMargin)}");
            var lower = all.Where(o => o.Epoch == m.Epoch && o.Weight < m.Weight && o.ConceptScore is not null).MaxBy(o => o.ConceptScore);
            if (lower is not null && lower.ConceptScore!.Value - m.ConceptScore!.Value > ConceptMargin)
            { over = true; reasons.Add($"overcooked: concept score {F(m.ConceptScore.Value)} fell from {F(lower.ConceptScore.Value)} at weight {F(lower.Weight)}"); }
        }
        else
        {
            weak = m.Effect < UndercookedEffect;
            if (weak) reasons.Add($"effect {P(m.Effect)} < {P(UndercookedEffect)}");
        }
        if (m.Stats.BlackFraction > DegenerateFraction) { over = true; reasons.Add($"overcooked: {P(m.Stats.BlackFraction)} of pixels black (NaN or collapsed render)"); }
        if (m.Stats.WhiteFraction > DegenerateFraction) { over = true; reasons.Add($"overcooked: {P(m.Stats.WhiteFraction)} of pixels white"); }
        if (m.SaturationJump > SaturationJump) { over = true; reasons.Add($"overcooked: saturation {Signed(m.SaturationJump)} against the baseline (limit +{F(SaturationJump)})"); }
        if (m.HighFrequencyRatio > HighFrequencyRatio) { over = true; reasons.Add($"overcooked: high-frequency energy ×{F(m.HighFrequencyRatio)} the baseline's (limit ×{F(HighFrequencyRatio)})"); }
        var overfit = false;
        if (m.SeedSpread is { } s && m.BaselineSeedSpread is { } bs && bs > 0 && s < OverfitSpreadRatio * bs)
        { overfit = true; reasons.Add($"overfit: seeds differ by {P(s)} against {P(bs)} without the LoRA (limit {F(OverfitSpreadRatio)}×)"); }
        if (m.PromptSpread is { } ps && m.BaselinePromptSpread is { } bps && bps > 0 && ps < OverfitSpreadRatio * bps)
        { overfit = true; reasons.Add($"overfit: prompts differ by {P(ps)} against {P(bps)} without the LoRA (limit {F(OverfitSpreadRatio)}×)"); }
        return new GroupVerdict(m, weak, over, overfit, reasons);
    }

    static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
    static string P(double v) => (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
    static string Signed(double v) => (v >= 0 ? "+" : "") + v.ToString("0.000", CultureInfo.InvariantCulture);
}
