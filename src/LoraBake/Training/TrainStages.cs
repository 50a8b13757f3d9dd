using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Training;

/// <summary>The Train slot of the pipeline: Train-Epoch-01 … Train-Epoch-NN, then Train-Export.</summary>
public static class TrainStages
{
    public static IReadOnlyList<IStage> For(Recipe recipe, int epochs)
    {
        var stages = Enumerable.Range(1, epochs).Select(e => new TrainEpochStage(e, epochs)).ToList();
        return [.. stages, new TrainExportStage(stages)];
    }
}
