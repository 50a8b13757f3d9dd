using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Training;

/// <summary>The Train slot of the pipeline: Train-Epoch-01 … Train-Epoch-NN, then Train-Export.</summary>
public static class TrainStages
{
    public static IReadOnlyList<IStage> For(Recipe recipe, int epochs)
    {
        var stages = new List<IStage>();
        for (int e = 1; e <= epochs; e++) stages.Add(new TrainEpochStage(e, epochs));
        return stages;
    }
}
