using System.Globalization;
using System.Text;
using System.Text.Json;
using LoraBake.Pipeline;

namespace LoraBake.Evaluation;

/// <summary>
/// output/NAME/report.html: one self-contained page that opens from disk — inline CSS, no scripts, no web
/// fonts; the grid pictures are links relative to the report (grids/…png beside it) and the loss chart is
/// inline SVG. Sections: diagnosis, grids, loss, dataset, settings, measurements, reproduce commands.
/// All text is HTML-escaped.
/// </summary>
public static class ReportHtml
{
    const int TopTags = 25;

    public static void Write(string path, ReportInputs inputs) => AtomicFile.WriteAllText(path, Render(inputs));

    public static string Render(ReportInputs r)
    {
        var name = r.Recipe.Name;
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.Append($"<title>{Escape(name)} — LoraBake report</title>\n<style>\n{Css}</style>\n</head>\n<body>\n");
        h.Append($"<h1>{Escape(name)}</h1>\n");
        h.Append("<nav><a href=\"#diagnosis\">Diagnosis</a> · <a href=\"#grids\">Grids</a> · <a href=\"#loss\">Loss</a> · "
            + "<a href=\"#dataset\">Dataset</a> · <a href=\"#settings\">Settings</a> · <a href=\"#measurements\">Measurements</a> · "
            + "<a href=\"#reproduce\">Reproduce</a></nav>\n");

        Diagnosis(h, r.Diagnosis);
        Grids(h, r.Grids);
        Loss(h, r.Loss);
        Dataset(h, r.Dataset);
        Settings(h, r.Recipe);
        Measurements(h, r.Groups, r.Cells);
        Reproduce(h, name, r.Model ?? r.Recipe.Model.Source, r.Cells, r.RenderPrecision);
        h.Append("</body>\n</html>\n");
        return h.ToString();
    }

    static void Diagnosis(StringBuilder h, Diagnosis? d)
    {
        h.Append("<section id=\"diagnosis\">\n<h2>Diagnosis</h2>\n");
        if (d is null) { h.Append("<p>Not measured.</p>\n</section>\n"); return; }
        h.Append("<p class=\"flags\">");
        Flag(h, "undercooked", d.Undercooked);
        Flag(h, "overcooked", d.Overcooked);
        Flag(h, "overfit", d.Overfit);
        h.Append("</p>\n");
        if (d.RecommendedEpoch is { } e)
            h.Append($"<p class=\"pick\">Recommended: <b>epoch {e}</b> at <b>weight {Escape(Num(d.RecommendedWeight!.Value))}</b></p>\n");
        h.Append("<ul>\n");
        foreach (var f in d.Findings) h.Append($"<li>{Escape(f)}</li>\n");
        h.Append("</ul>\n<p class=\"note\">These flags come from pixel statistics with fixed heuristic thresholds "
            + $"(effect &lt; {Escape(Pct(Evaluation.Diagnosis.UndercookedEffect))}, black/white &gt; {Escape(Pct(Evaluation.Diagnosis.DegenerateFraction))}, "
            + $"saturation +{Escape(Num(Evaluation.Diagnosis.SaturationJump))}, high-frequency ×{Escape(Num(Evaluation.Diagnosis.HighFrequencyRatio))}, "
            + $"spread &lt; {Escape(Num(Evaluation.Diagnosis.OverfitSpreadRatio))}× baseline). Trust the grid over them.</p>\n</section>\n");
    }

    static void Flag(StringBuilder h, string name, bool on) =>
        h.Append($"<span class=\"flag {(on ? "on" : "off")}\">{name}: {(on ? "yes" : "no")}</span> ");

    static void Grids(StringBuilder h, IReadOnlyList<ReportGrid> grids)
    {
        h.Append("<section id=\"grids\">\n<h2>Grids</h2>\n");
        if (grids.Count == 0) h.Append("<p>No grids.</p>\n");
        foreach (var g in grids)
        {
            if (g.RelativePath.Contains("://", StringComparison.Ordinal) || g.RelativePath.StartsWith('/') || g.RelativePath.Contains(".."))
                throw new ArgumentException($"Grid paths must be relative to the report, inside its folder: {g.RelativePath}");
            var src = Escape(string.Join('/', g.RelativePath.Split('/').Select(Uri.EscapeDataString)));
            h.Append($"<figure>\n<figcaption><b>{Escape(g.Title)}</b> — {AxisText("X", g.Grid.X)}; {AxisText("Y", g.Grid.Y)}");
            if (!g.Grid.Z.IsUnused) h.Append($"; {AxisText("Z", g.Grid.Z)}");
            h.Append($"</figcaption>\n<a href=\"{src}\"><img src=\"{src}\" alt=\"{Escape(g.Title)}\" loading=\"lazy\"></a>\n</figure>\n");
        }
        h.Append("</section>\n");
    }

    static string AxisText(string slot, GridAxis a) => a.IsUnused ? $"{slot}: —"
        : $"{slot}: {Escape(a.Title)} ({Escape(string.Join(" | ", a.Values.Select(v => v.Label)))})";

    static void Loss(StringBuilder h, IReadOnlyList<LossRow> rows)
    {
        h.Append("<section id=\"loss\">\n<h2>Loss</h2>\n");
        if (rows.Count == 0) { h.Append("<p>No loss log.</p>\n</section>\n"); return; }
        h.Append($"<div class=\"chart\">{LossChart.Svg(rows)}</div>\n");
        var finite = rows.Where(x => double.IsFinite(x.Loss)).ToList();
        h.Append("<table>\n<tr><th>epoch</th><th>steps</th><th>mean loss</th><th>last lr unet</th><th>last lr te</th></tr>\n");
        foreach (var g in rows.GroupBy(x => x.Epoch).OrderBy(g => g.Key))
        {
            var f = g.Where(x => double.IsFinite(x.Loss)).ToList();
            h.Append($"<tr><td>{g.Key}</td><td>{g.Count()}</td><td>{(f.Count == 0 ? "nan" : Num(f.Average(x => x.Loss)))}</td>"
                + $"<td>{Num(g.Last().LrUnet)}</td><td>{Num(g.Last().LrTe)}</td></tr>\n");
        }
        h.Append("</table>\n");
        if (finite.Count < rows.Count) h.Append($"<p class=\"warn\">{rows.Count - finite.Count} steps had a NaN or infinite loss.</p>\n");
        h.Append("</section>\n");
    }

    static void Dataset(StringBuilder h, Data.DatasetReport? d)
    {
        h.Append("<section id=\"dataset\">\n<h2>Dataset</h2>\n");
        if (d is null) { h.Append("<p>No dataset.json.</p>\n</section>\n"); return; }
        h.Append($"<p>{d.UsedCount} images used, {d.SkippedCount} skipped; resolution {d.Resolution}; "
            + $"{d.StepsPerEpoch.Real} steps per epoch at batch size {d.StepsPerEpoch.BatchSize} "
            + $"(the colab's estimate: {Escape(Num(d.StepsPerEpoch.ColabEstimate))}).</p>\n");
        // Regularisation subsets next to the training ones: kohya balances reg samples to the training samples per epoch.
        h.Append("<h3>Subsets</h3>\n<table>\n<tr><th>subset</th><th>images</th><th>repeats</th><th>kind</th></tr>\n");
        foreach (var s in d.Subsets)
            h.Append($"<tr><td>{Escape(s.Name)}</td><td>{s.Images}</td><td>{s.NumRepeats}</td><td>{(s.IsReg ? "regularisation (balanced to the training images × repeats)" : "training")}</td></tr>\n");
        h.Append("</table>\n");
        h.Append("<h3>Buckets</h3>\n<table>\n<tr><th>bucket</th><th>images</th></tr>\n");
        foreach (var (bucket, count) in d.Buckets) h.Append($"<tr><td>{Escape(bucket)}</td><td>{count}</td></tr>\n");
        h.Append("</table>\n");
        foreach (var (subset, tags) in d.TagFrequency)
        {
            h.Append($"<h3>Top tags — {Escape(subset)}</h3>\n<table>\n<tr><th>tag</th><th>count</th></tr>\n");
            foreach (var (tag, count) in tags.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).Take(TopTags))
                h.Append($"<tr><td>{Escape(tag)}</td><td>{count}</td></tr>\n");
            h.Append("</table>\n");
        }
        var skipped = d.Images.Where(i => i.Status != "used").ToList();
        if (skipped.Count > 0)
        {
            h.Append("<h3>Skipped</h3>\n<table>\n<tr><th>file</th><th>reason</th></tr>\n");
            foreach (var s in skipped) h.Append($"<tr><td>{Escape(s.Path)}</td><td>{Escape(s.Reason ?? "")}</td></tr>\n");
            h.Append("</table>\n");
        }
        foreach (var w in d.Warnings) h.Append($"<p class=\"warn\">{Escape(w)}</p>\n");
        h.Append("</section>\n");
    }

    static void Settings(StringBuilder h, Recipes.Recipe recipe)
    {
        h.Append("<section id=\"settings\">\n<h2>Settings</h2>\n");
        var opts = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        opts.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        foreach (var (section, value) in new (string, object)[]
                 { ("model", recipe.Model), ("dataset", recipe.Dataset), ("training", recipe.Training), ("network", recipe.Network), ("evaluation", recipe.Evaluation) })
        {
            h.Append($"<h3>{section}</h3>\n<table>\n");
            var el = JsonSerializer.SerializeToElement(value, value.GetType(), opts);
            foreach (var p in el.EnumerateObject())
                h.Append($"<tr><th>{Escape(p.Name)}</th><td>{Escape(Flat(p.Value))}</td></tr>\n");
            h.Append("</table>\n");
        }
        h.Append("</section>\n");
    }

    static string Flat(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => "—",
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Array => "[" + string.Join(", ", e.EnumerateArray().Select(Flat)) + "]",
        JsonValueKind.Object => "{" + string.Join(", ", e.EnumerateObject().Select(p => $"{p.Name}: {Flat(p.Value)}")) + "}",
        _ => e.GetRawText(),
    };

    static void Measurements(StringBuilder h, IReadOnlyList<GroupMeasurement> groups, IReadOnlyList<CellMeasurement> cells)
    {
        h.Append("<section id=\"measurements\">\n<h2>Measurements</h2>\n");
        h.Append("<p class=\"note\">effect = mean absolute pixel difference from the baseline (same prompt and seed), 0–100%; "
            + "sat = mean HSV saturation; HF = mean squared Laplacian of luma; spread = mean pairwise difference between seeds.</p>\n");
        if (groups.Any(g => g.ConceptScore is not null)) ConceptTable(h, groups);
        if (groups.Count > 0)
        {
            h.Append("<h3>Per epoch and weight</h3>\n<table>\n<tr><th>epoch</th><th>weight</th><th>effect</th><th>sat (Δ)</th><th>HF ×baseline</th>"
                + "<th>black</th><th>white</th><th>seed spread (baseline)</th><th>prompt spread (baseline)</th></tr>\n");
            foreach (var g in groups)
                h.Append($"<tr><td>{(g.Epoch is { } e ? e.ToString(CultureInfo.InvariantCulture) : "baseline")}</td><td>{(g.Epoch is null ? "—" : Num(g.Weight))}</td>"
                    + $"<td>{Pct(g.Effect)}</td><td>{Num(g.Stats.MeanSaturation)} ({Signed(g.SaturationJump)})</td><td>{Num(g.HighFrequencyRatio)}</td>"
                    + $"<td>{Pct(g.Stats.BlackFraction)}</td><td>{Pct(g.Stats.WhiteFraction)}</td>"
                    + $"<td>{Opt(g.SeedSpread)} ({Opt(g.BaselineSeedSpread)})</td><td>{Opt(g.PromptSpread)} ({Opt(g.BaselinePromptSpread)})</td></tr>\n");
            h.Append("</table>\n");
        }
        if (cells.Count > 0)
        {
            h.Append("<h3>Per cell</h3>\n<table>\n<tr><th>x,y,z</th><th>epoch</th><th>weight</th><th>prompt</th><th>seeds</th><th>effect</th>"
                + "<th>sat</th><th>HF</th><th>black</th><th>white</th><th>seed spread</th></tr>\n");
            foreach (var c in cells)
                h.Append($"<tr><td>{c.Cell.X},{c.Cell.Y},{c.Cell.Z}</td><td>{EpochText(c.Cell)}</td><td>{(c.Cell.IsBaseline ? "—" : Num(c.Cell.Weight))}</td>"
                    + $"<td class=\"prompt\">{Escape(c.Cell.Prompt)}</td><td>{string.Join(", ", c.Cell.Seeds)}</td><td>{Opt(c.Effect)}</td>"
                    + $"<td>{Num(c.Stats.MeanSaturation)}</td><td>{c.Stats.HighFrequencyEnergy.ToString("0.#####", CultureInfo.InvariantCulture)}</td>"
                    + $"<td>{Pct(c.Stats.BlackFraction)}</td><td>{Pct(c.Stats.WhiteFraction)}</td><td>{Opt(c.SeedSpread)}</td></tr>\n");
            h.Append("</table>\n");
        }
        if (groups.Count == 0 && cells.Count == 0) h.Append("<p>Not measured.</p>\n");
        h.Append("</section>\n");
    }

    /// <summary>Toy world: the concept score (0–1) as an epochs × weights table, the baseline first.</summary>
    static void ConceptTable(StringBuilder h, IReadOnlyList<GroupMeasurement> groups)
    {
        var weights = groups.Where(g => g.Epoch is not null).Select(g => g.Weight).Distinct().Order().ToList();
        h.Append("<h3>Concept score</h3>\n<p class=\"note\">The toy-world concept detector on every render (0 = absent, 1 = present), "
            + "averaged over prompts and seeds; the concept is learnt where it beats the baseline by "
            + $"{Num(Evaluation.Diagnosis.ConceptMargin)} or more.</p>\n<table>\n<tr><th>epoch</th>");
        foreach (var w in weights) h.Append($"<th>weight {Num(w)}</th>");
        h.Append("</tr>\n");
        if (groups.FirstOrDefault(g => g.Epoch is null) is { ConceptScore: { } b })
            h.Append($"<tr><td>baseline</td><td colspan=\"{weights.Count}\">{Num(b)}</td></tr>\n");
        foreach (var epoch in groups.Where(g => g.Epoch is not null).GroupBy(g => g.Epoch!.Value).OrderBy(g => g.Key))
        {
            h.Append($"<tr><td>{epoch.Key.ToString(CultureInfo.InvariantCulture)}</td>");
            foreach (var w in weights)
                h.Append($"<td>{(epoch.FirstOrDefault(g => g.Weight == w)?.ConceptScore is { } c ? Num(c) : "—")}</td>");
            h.Append("</tr>\n");
        }
        h.Append("</table>\n");
    }

    static void Reproduce(StringBuilder h, string name, string model, IReadOnlyList<CellMeasurement> cells, string? precision)
    {
        h.Append("<section id=\"reproduce\">\n<h2>Reproduce a cell</h2>\n");
        if (cells.Count == 0) h.Append("<p>No cells.</p>\n");
        foreach (var c in cells)
        {
            h.Append($"<details><summary>cell {c.Cell.X},{c.Cell.Y},{c.Cell.Z} — {EpochText(c.Cell)}"
                + $"{(c.Cell.IsBaseline ? "" : ", weight " + Num(c.Cell.Weight))}</summary>\n<pre>");
            foreach (var r in c.Cell.Renders())
                h.Append(Escape(GenerateCommandLine.For(name, model, r, $"cell-{c.Cell.X}-{c.Cell.Y}-{c.Cell.Z}-seed{r.Seed}.png", precision))).Append('\n');
            h.Append("</pre></details>\n");
        }
        h.Append("</section>\n");
    }

    static string EpochText(GridCell c) => c.Epoch is { } e ? $"epoch {e}" : "baseline (no LoRA)";

    /// <summary>HTML text and attribute escaping: &amp; &lt; &gt; " '.</summary>
    public static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c switch { '&' => "&amp;", '<' => "&lt;", '>' => "&gt;", '"' => "&quot;", '\'' => "&#39;", _ => c.ToString() });
        return sb.ToString();
    }

    static string Num(double v) => double.IsFinite(v) ? v.ToString("0.####", CultureInfo.InvariantCulture) : "nan";
    static string Pct(double v) => (v * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
    static string Opt(double? v) => v is { } x ? Pct(x) : "—";
    static string Signed(double v) => (v >= 0 ? "+" : "") + v.ToString("0.000", CultureInfo.InvariantCulture);

    const string Css = """
        body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
        h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
        nav a { color: #1446a0; }
        table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
        th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
        th { background: #f4f4f4; }
        td.prompt { max-width: 28em; }
        figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ccc; }
        .flag { display: inline-block; padding: 2px 10px; border-radius: 10px; margin-right: 6px; }
        .flag.on { background: #f7d4d4; color: #8a1010; } .flag.off { background: #d8efd8; color: #1d5e1d; }
        .pick { font-size: 1.2em; } .note { color: #666; font-size: 0.9em; } .warn { color: #8a5a00; }
        pre { background: #f6f6f6; padding: 6px; overflow-x: auto; white-space: pre-wrap; }
        .chart svg { max-width: 100%; height: auto; border: 1px solid #eee; }

        """;
}
