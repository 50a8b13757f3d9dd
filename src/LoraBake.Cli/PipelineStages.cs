using LoraBake.Download;
using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Cli;

/// <summary>
/// The stages of LoraBake, one Register line per slot. Stages live in their own folders (Download/, Data/, Training/,
/// Evaluation/); this list is in the CLI, the composition root, so that the library's Pipeline knows stages only as
/// <see cref="IStage"/>.
/// </summary>
public static class PipelineStages
{
    public static StageCatalog CreateCatalog()
    {
        BuiltinModels.Register(LoraBake.Models.TinySd1.Name, LoraBake.Models.TinySd1.Write, LoraBake.Models.TinySd1.Version);
        BuiltinModels.Register(LoraBake.Models.ToySd1.Name, LoraBake.Models.ToySd1.Write, LoraBake.Models.ToySd1.Version);
        var catalog = new StageCatalog();
        catalog.Register(StageCatalog.Download, _ => [new DownloadStage()]);
        catalog.Register(StageCatalog.Process, _ => [new LoraBake.Data.ProcessStage()]);
        catalog.Register(StageCatalog.Train, recipe => LoraBake.Training.TrainStages.For(recipe, EpochCount(recipe) ?? 0, LoraBake.Evaluation.EpochPreview.Render));
        catalog.Register(StageCatalog.Evaluate, _ => [new LoraBake.Evaluation.EvaluateStage()]);
        return catalog;
    }

    /// <summary>Epochs of a recipe: how_many, or for a step budget the colab's estimate from the dataset's image count.</summary>
    public static int? EpochCount(Recipe recipe)
    {
        if (recipe.Training.PreferredUnit == PreferredUnit.Epochs) return recipe.Training.HowMany;
        if (string.IsNullOrEmpty(recipe.SourcePath)) return null;
        var estimate = StepMath.Estimate(recipe, DatasetCensus.Count(recipe, RecipeLoader.ProjectDir(recipe)));
        // kohya trains ceil(steps / steps per epoch) epochs (the last one partly), as EpochSchedule does; the colab's
        // int() estimate would plan no epoch at all for a budget under one epoch.
        return estimate.StepsPerEpoch > 0 ? Math.Max(1, (int)Math.Ceiling(recipe.Training.HowMany / estimate.StepsPerEpoch)) : null;
    }
}
