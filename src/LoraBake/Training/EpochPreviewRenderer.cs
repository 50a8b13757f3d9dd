using LoraBake.Data;
using LoraBake.Pipeline;

namespace LoraBake.Training;

/// <summary>
/// Renders an epoch's evaluation.preview grid cells right after it trains (Evaluation's EpochPreview.Render);
/// returns how many were rendered. A delegate because Evaluation uses Training, not the other way round.
/// </summary>
public delegate int EpochPreviewRenderer(StageContext context, ProcessedIndex index, string epochDir, int epoch, int totalEpochs);
