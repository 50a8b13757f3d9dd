using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Training;

/// <summary>The Train slot of the pipeline: Train-Epoch-01 … Train-Epoch-NN, then Train-Export.</summary>
public static class TrainStages
{
    /// <param name="preview">Renders an epoch's evaluation.preview cells (Evaluation's EpochPreview, given by the composition root).</param>
    public static IReadOnlyList<IStage> For(Recipe recipe, int epochs, EpochPreviewRenderer? preview = null)
    {
        var stages = Enumerable.Range(1, epochs).Select(e => new TrainEpochStage(e, epochs) { Preview = preview }).ToList();
        return [.. stages, new TrainExportStage(stages)];
    }
}
