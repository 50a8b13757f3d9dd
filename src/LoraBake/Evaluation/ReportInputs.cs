using System.Text.Json;
using LoraBake.Data;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>One grid picture in the report: a path relative to output/NAME/ and the grid it shows.</summary>
public sealed record ReportGrid(string Title, string RelativePath, EvaluationGrid Grid);

/// <summary>Everything report.html shows.</summary>
public sealed record ReportInputs
{
    public required Recipe Recipe { get; init; }
    /// <summary>What `--model` says in the reproduce commands (the recipe's model.source by default).</summary>
    public string? Model { get; init; }
    /// <summary>What the base model rendered in when not fp32 (`--precision` in the reproduce commands).</summary>
    public string? RenderPrecision { get; init; }
    public IReadOnlyList<ReportGrid> Grids { get; init; } = [];
    public IReadOnlyList<LossRow> Loss { get; init; } = [];
    public DatasetReport? Dataset { get; init; }
    public IReadOnlyList<CellMeasurement> Cells { get; init; } = [];
    public IReadOnlyList<GroupMeasurement> Groups { get; init; } = [];
    public Diagnosis? Diagnosis { get; init; }

    /// <summary>Reads output/NAME/dataset.json as the Process stage writes it; null when the file is absent.</summary>
    public static DatasetReport? ReadDataset(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<DatasetReport>(File.ReadAllText(path), DatasetReport.Json)
                ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e)
        {
            throw new UserError($"{path}: not a dataset report ({e.Message}). Re-run the Process stage to rewrite it.", inner: e);
        }
    }
}
