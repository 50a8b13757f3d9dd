using LoraBake.Pipeline.Download;
using LoraBake.Recipes;

namespace LoraBake.Pipeline;

/// <summary>
/// The stages this build of LoraBake has, one Register line per slot. A slot without a line is planned as
/// "not available yet". Stages live in their own folders (Pipeline/Download, Data/, Training/, Evaluation/).
/// </summary>
public static class PipelineStages
{
    public static StageCatalog CreateCatalog()
    {
        BuiltinModels.Register(LoraBake.Models.TinySd1.Name, LoraBake.Models.TinySd1.Write, LoraBake.Models.TinySd1.Version);
        BuiltinModels.Register(LoraBake.Models.ToySd1.Name, LoraBake.Models.ToySd1.Write, LoraBake.Models.ToySd1.Version);
        var catalog = new StageCatalog { EpochCount = EpochCount };
        catalog.Register(StageCatalog.Download, _ => [new DownloadStage()]);
        catalog.Register(StageCatalog.Process, _ => [new LoraBake.Data.ProcessStage()]);
        catalog.Register(StageCatalog.Train, recipe => LoraBake.Training.TrainStages.For(recipe, EpochCount(recipe) ?? 0));
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
