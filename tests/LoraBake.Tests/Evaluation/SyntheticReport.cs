using LoraBake.Data;
using LoraBake.Evaluation;
using LoraBake.Recipes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Evaluation;

/// <summary>A complete report from made-up renders, loss and dataset, written to a folder like output/NAME/.</summary>
static class SyntheticReport
{
    public static DatasetReport Dataset() => new()
    {
        Project = "demo",
        Resolution = 512,
        Subsets = [new SubsetReport("10_demo", "dataset/10_demo", 10, "", 3, false, false), new SubsetReport("reg", "reg", 1, "", 5, false, true)],
        Images =
        [
            new DatasetImageReport { Path = "10_demo/a.png", Status = "used", Width = 512, Height = 768, Bucket = [448, 640], Repeats = 10, Tags = ["demo", "1girl"] },
            new DatasetImageReport { Path = "10_demo/b.png", Status = "used", Width = 512, Height = 512, Bucket = [512, 512], Repeats = 10, Tags = ["demo", "smile"] },
            new DatasetImageReport { Path = "10_demo/c <evil>.gif", Status = "skipped", Reason = "animated GIF & <script>" },
        ],
        Duplicates = [],
        OrphanCaptions = [],
        TagFrequency = new Dictionary<string, SortedDictionary<string, int>> { ["10_demo"] = new() { ["demo"] = 2, ["1girl"] = 1, ["smile"] = 1 } },
        Buckets = new Dictionary<string, int> { ["448x640"] = 1, ["512x512"] = 1 },
        StepsPerEpoch = new StepsPerEpoch { BatchSize = 2, Real = 10, ColabEstimate = 10, PerBucket = new Dictionary<string, BucketSteps>() },
        Warnings = [],
    };

    /// <summary>Writes grids/xyz.png and report.html into <paramref name="dir"/>; returns the report's path.</summary>
    public static string Write(string dir, int cellSize = 64)
    {
        var recipe = new Recipe
        {
            Name = "demo",
            Evaluation = new EvaluationSettings
            {
                Prompts = ["[trigger], solo, <b>looking</b> at \"viewer\"", "[trigger], outdoors"],
                Seeds = [1, 2], Weights = [0.5, 1.0], Width = cellSize, Height = cellSize,
            },
        };
        var grid = EvaluationGrid.Build(recipe.Evaluation, [1, 2, 3], "demo");
        var cache = new Dictionary<RenderRequest, Image<Rgb24>>();
        Image<Rgb24> ImageOf(RenderRequest r) => cache.TryGetValue(r, out var i) ? i : cache[r] =
            SyntheticImages.Gradient(cellSize, cellSize, (int)r.Seed * 5 + r.Prompt.Length, r.IsBaseline ? 0 : (int)(10 * r.Weight * r.Epoch!.Value));

        var cellImages = grid.Cells.Select(c => GridImage.ImageGrid(c.Renders().Select(ImageOf).ToList())).ToList();
        Directory.CreateDirectory(Path.Combine(dir, "grids"));
        using (var picture = GridImage.Compose(cellImages, grid.X.Values.Select(v => v.Label).ToList(),
                   grid.Y.Values.Select(v => v.Label).ToList(), grid.Z.Values.Select(v => v.Label).ToList()))
            picture.SaveAsPng(Path.Combine(dir, "grids", "xyz.png"));
        cellImages.ForEach(i => i.Dispose());

        var cells = GridMeasurements.MeasureCells(grid, ImageOf);
        var groups = GridMeasurements.Group(cells, ImageOf);
        var path = Path.Combine(dir, "report.html");
        ReportHtml.Write(path, new ReportInputs
        {
            Recipe = recipe,
            Grids = [new ReportGrid("Epochs × weights", "grids/xyz.png", grid)],
            Loss = LossLogTests.Synthetic(120, 40),
            Dataset = Dataset(),
            Cells = cells,
            Groups = groups,
            Diagnosis = Diagnosis.From(groups),
        });
        foreach (var i in cache.Values) i.Dispose();
        return path;
    }
}
