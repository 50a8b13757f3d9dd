using System.Text.Json;
using System.Text.Json.Nodes;
using LoraBake.Pipeline;

namespace LoraBake.Evaluation;

/// <summary>
/// output/NAME/evaluation.json, the machine-readable result of the Evaluate stage (snake_case, numbers in
/// invariant form):
/// <code>
/// { "version": 1, "project", "trigger", "model_identity",
///   "axes": { "x"|"y"|"z": { "type": "Epoch"|…|null, "labels": [...] } },
///   "grids": ["grids/grid.png"],
///   "cells": [ { "x","y","z","epoch"(null = baseline),"weight"(null for the baseline),"prompt","negative_prompt",
///                "sampler","steps","cfg","width","height",
///                "renders": [ { "seed","key","lora_sha256"(null = baseline) } ],
///                "stats": { "mean_saturation","high_frequency_energy","black_fraction","white_fraction" },
///                "effect","seed_spread" } ],
///   (toy-world projects add "concept_score" and "baseline" after each cell's "weight", and "concept_score",
///    "baseline_concept_score" after each group's "effect")
///   "groups": [ { "epoch","weight","cells","effect","saturation_jump","high_frequency_ratio","seed_spread",
///                 "baseline_seed_spread","prompt_spread","baseline_prompt_spread","weak","overcooked","overfit","reasons" } ],
///   "diagnosis": { "undercooked","overcooked","overfit","recommended_epoch","recommended_weight","findings" } }
/// </code>
/// Nothing in it depends on which cells came from the cache, so a rebuild writes the same bytes.
/// </summary>
public static class EvaluationJson
{
    public const int Version = 1;

    public sealed record Inputs(string Project, string Trigger, string ModelIdentity, EvaluationGrid Grid, IReadOnlyList<string> GridFiles,
        Func<RenderRequest, (string Key, string? LoraSha256)> KeyOf, IReadOnlyList<CellMeasurement> Cells, Diagnosis Diagnosis);

    public static void Write(string path, Inputs i) =>
        AtomicFile.WriteAllText(path, Build(i).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    public static JsonObject Build(Inputs i)
    {
        var cells = new JsonArray();
        foreach (var m in i.Cells)
        {
            var c = m.Cell;
            var renders = new JsonArray();
            foreach (var r in c.Renders())
            {
                var (key, lora) = i.KeyOf(r);
                renders.Add(new JsonObject { ["seed"] = r.Seed, ["key"] = key, ["lora_sha256"] = lora });
            }
            var cellJson = new JsonObject
            {
                ["x"] = c.X, ["y"] = c.Y, ["z"] = c.Z,
                ["epoch"] = c.Epoch, ["weight"] = c.IsBaseline ? null : Num(c.Weight),
                ["prompt"] = c.Prompt, ["negative_prompt"] = c.NegativePrompt,
                ["sampler"] = c.Sampler, ["steps"] = c.Steps, ["cfg"] = Num(c.Cfg), ["width"] = c.Width, ["height"] = c.Height,
                ["renders"] = renders,
                ["stats"] = Stats(m.Stats),
                ["effect"] = Num(m.Effect), ["seed_spread"] = Num(m.SeedSpread),
            };
            // Toy-world projects: the concept detector's score beside the weight, and which cell is the baseline.
            if (m.ConceptScore is { } score)
            {
                cellJson.Insert(cellJson.IndexOf("weight") + 1, "concept_score", Num(score));
                cellJson.Insert(cellJson.IndexOf("concept_score") + 1, "baseline", c.IsBaseline);
            }
            cells.Add(cellJson);
        }
        var groups = new JsonArray();
        foreach (var v in i.Diagnosis.Groups)
        {
            var g = v.Measurement;
            var groupJson = new JsonObject
            {
                ["epoch"] = g.Epoch, ["weight"] = Num(g.Weight), ["cells"] = g.Cells, ["effect"] = Num(g.Effect),
                ["saturation_jump"] = Num(g.SaturationJump), ["high_frequency_ratio"] = Num(g.HighFrequencyRatio),
                ["seed_spread"] = Num(g.SeedSpread), ["baseline_seed_spread"] = Num(g.BaselineSeedSpread),
                ["prompt_spread"] = Num(g.PromptSpread), ["baseline_prompt_spread"] = Num(g.BaselinePromptSpread),
                ["stats"] = Stats(g.Stats), ["baseline_stats"] = Stats(g.BaselineStats),
                ["weak"] = v.Weak, ["overcooked"] = v.Overcooked, ["overfit"] = v.Overfit,
                ["reasons"] = new JsonArray(v.Reasons.Select(r => (JsonNode?)r).ToArray()),
            };
            if (g.ConceptScore is not null)
            {
                groupJson.Insert(groupJson.IndexOf("effect") + 1, "concept_score", Num(g.ConceptScore));
                groupJson.Insert(groupJson.IndexOf("concept_score") + 1, "baseline_concept_score", Num(g.BaselineConceptScore));
            }
            groups.Add(groupJson);
        }
        var d = i.Diagnosis;
        return new JsonObject
        {
            ["version"] = Version,
            ["project"] = i.Project,
            ["trigger"] = i.Trigger,
            ["model_identity"] = i.ModelIdentity,
            ["axes"] = new JsonObject { ["x"] = Axis(i.Grid.X), ["y"] = Axis(i.Grid.Y), ["z"] = Axis(i.Grid.Z) },
            ["grids"] = new JsonArray(i.GridFiles.Select(f => (JsonNode?)f).ToArray()),
            ["cells"] = cells,
            ["groups"] = groups,
            ["diagnosis"] = new JsonObject
            {
                ["undercooked"] = d.Undercooked, ["overcooked"] = d.Overcooked, ["overfit"] = d.Overfit,
                ["recommended_epoch"] = d.RecommendedEpoch, ["recommended_weight"] = Num(d.RecommendedWeight),
                ["findings"] = new JsonArray(d.Findings.Select(f => (JsonNode?)f).ToArray()),
            },
        };
    }

    static JsonObject Axis(GridAxis a) => new()
    {
        ["type"] = a.IsUnused ? null : a.Title,
        ["labels"] = new JsonArray(a.Values.Select(v => (JsonNode?)v.Label).ToArray()),
    };

    static JsonObject Stats(ImageStats s) => new()
    {
        ["mean_saturation"] = Num(s.MeanSaturation), ["high_frequency_energy"] = Num(s.HighFrequencyEnergy),
        ["black_fraction"] = Num(s.BlackFraction), ["white_fraction"] = Num(s.WhiteFraction),
    };

    // JSON has no NaN: a non-finite measurement is written as null.
    static JsonNode? Num(double? v) => v is { } x && double.IsFinite(x) ? JsonValue.Create(x) : null;
}
