using System.Globalization;
using System.Text;
using System.Text.Json;
using LoraBake.Pipeline;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>
/// A project's build in a few lines of Markdown (for a CI job summary): each stage rebuilt or cached and why
/// (from the plan taken before the build, `lorabake plan --json`), the recommended epoch and weight from
/// output/NAME/evaluation.json, and the loss from output/NAME/loss.csv (first and last epoch means).
/// </summary>
public static class ProjectSummary
{
    public static string Markdown(RepoLayout layout, string project, string? planBeforeJson)
    {
        var sb = new StringBuilder();
        sb.Append($"### {project}\n\n");
        if (planBeforeJson != null)
        {
            sb.Append("| stage | this build | why |\n|---|---|---|\n");
            using var doc = JsonDocument.Parse(planBeforeJson);
            foreach (var s in doc.RootElement.GetProperty("stages").EnumerateArray())
            {
                var what = s.GetProperty("status").GetString() == "fresh" ? "cached" : "rebuilt";
                sb.Append($"| {Cell(s.GetProperty("name").GetString())} | {what} | {Cell(s.GetProperty("reason").GetString())} |\n");
            }
            sb.Append('\n');
        }
        var output = layout.OutputDir(project);
        sb.Append(Recommendation(Path.Combine(output, "evaluation.json"))).Append('\n');
        sb.Append(Loss(Path.Combine(output, "loss.csv"))).Append('\n');
        return sb.ToString();
    }

    /// <summary>"Recommended: epoch 3 at weight 0.8" from evaluation.json (recommended_epoch / recommended_weight, at any depth).</summary>
    public static string Recommendation(string evaluationJson)
    {
        if (!File.Exists(evaluationJson)) return "Recommended epoch: - (no evaluation.json; the Evaluate stage did not run)\n";
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(evaluationJson));
            var epoch = Find(doc.RootElement, "recommended_epoch");
            var weight = Find(doc.RootElement, "recommended_weight");
            if (epoch is not { ValueKind: JsonValueKind.Number } || weight is not { ValueKind: JsonValueKind.Number })
                return "Recommended epoch: none (evaluation.json has no recommendation)\n";
            return $"Recommended: **epoch {epoch.Value.GetInt32()}** at **weight {weight.Value.GetDouble().ToString("0.###", CultureInfo.InvariantCulture)}**\n";
        }
        catch (JsonException e)
        {
            return $"Recommended epoch: - (evaluation.json is not readable: {e.Message})\n";
        }
    }

    /// <summary>"Loss: epoch 1 mean 0.1234 → epoch 4 mean 0.0987 (96 steps)" from loss.csv.</summary>
    public static string Loss(string lossCsv)
    {
        if (!File.Exists(lossCsv)) return "Loss: - (no loss.csv)\n";
        var rows = LossLog.Read(lossCsv);
        if (rows.Count == 0) return "Loss: - (loss.csv has no steps)\n";
        var byEpoch = rows.GroupBy(r => r.Epoch).OrderBy(g => g.Key).ToList();
        string Mean(IGrouping<int, LossRow> g) => g.Average(r => r.Loss).ToString("0.0000", CultureInfo.InvariantCulture);
        var (first, last) = (byEpoch[0], byEpoch[^1]);
        return $"Loss: epoch {first.Key} mean {Mean(first)} → epoch {last.Key} mean {Mean(last)} ({rows.Count} steps)\n";
    }

    private static JsonElement? Find(JsonElement e, string name)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name == name) return p.Value;
                if (Find(p.Value, name) is { } inner) return inner;
            }
        }
        return null;
    }

    private static string Cell(string? text) => (text ?? "").Replace("|", "\\|").Replace("\n", " ");
}
