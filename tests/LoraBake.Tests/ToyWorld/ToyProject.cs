using System.Text.Json;
using LoraBake.Cli;
using LoraBake.Evaluation;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.ToyWorld;

namespace LoraBake.Tests.ToyWorld;

/// <summary>
/// A throw-away repository with one toy-world project on builtin:toy-sd1: the demo's twelve "bakechan" hearts at 64 px,
/// trained and evaluated in-process through the real stages. <paramref name="training"/> and <paramref name="network"/>
/// are the recipe's sections (YAML, indented two spaces); the demo's constant learning rate and 2 seeds unless told.
/// </summary>
sealed class ToyProject : IDisposable
{
    public const string Name = "toy";
    public string Root { get; }
    public RepoLayout Layout { get; }
    public int Epochs { get; }

    public ToyProject(int epochs, string training, string network, int repeats = 8, string weights = "[0, 0.5, 1.0]",
        string scheduler = "constant", string seeds = "[1, 2]")
    {
        Epochs = epochs;
        Root = Path.Combine(Path.GetTempPath(), "lorabake-toy-" + Guid.NewGuid().ToString("N")[..12]);
        Layout = new RepoLayout(Root);
        Directory.CreateDirectory(Layout.RecipesDir);
        ToyConcept.WriteDemoDataset(Path.Combine(Layout.ProjectDir(Name), "dataset"));
        File.WriteAllText(Layout.RecipePath(Name), $"""
            model:
              source: builtin:toy-sd1
            dataset:
              resolution: 64
              num_repeats: {repeats}
              activation_tags: 1
            training:
              how_many: {epochs}
              train_batch_size: 4
              clip_skip: 1
              max_token_length: 75
              mixed_precision: fp32
              lr_scheduler: {scheduler}
              lr_warmup_ratio: 0
            {training}
            network:
            {network}
            evaluation:
              prompts:
                - "[trigger], large on blue background"
                - "[trigger], small at left on white background"
              negative_prompt: ""
              seeds: {seeds}
              sampler: euler_a
              steps: 20
              cfg: 5
              width: 64
              height: 64
              weights: {weights}
            """);
    }

    public Recipe Recipe => RecipeLoader.LoadOrThrow(Layout, Name);

    /// <summary>Download → Process → every epoch → export → Evaluate; returns evaluation.json.</summary>
    public JsonDocument TrainAndEvaluate()
    {
        var runner = new StageRunner(Layout, PipelineStages.CreateCatalog());
        var stages = new List<string> { StageCatalog.Download, StageCatalog.Process };
        for (int e = 1; e <= Epochs; e++) stages.Add(StageCatalog.EpochStageName(e, Epochs));
        stages.Add(LoraBake.Training.TrainExportStage.StageName);
        stages.Add(StageCatalog.Evaluate);
        foreach (var stage in stages) runner.Run(Name, Recipe, stage, force: false);
        return JsonDocument.Parse(File.ReadAllText(Path.Combine(Layout.OutputDir(Name), EvaluateStage.JsonFile)));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
