using LoraBake.Data;
using LoraBake.Download;
using LoraBake.Models;
using LoraBake.Networks;
using LoraBake.Pipeline;
using LoraBake.Training;

namespace LoraBake.Evaluation;

/// <summary>
/// evaluation.preview (kohya's sample_every_n_epochs, but cached and in the grid): right after an epoch trains,
/// its grid cells (and the baseline) are rendered into the cell store with the very file the export will write
/// for that epoch, so their keys are the ones Evaluate computes later. A user who stops after 3 of 10 epochs has
/// the cells of epochs 1–3; a later Evaluate renders only what is missing. Epochs the export does not keep, or
/// the grid does not show, are not previewed.
/// </summary>
public static class EpochPreview
{
    /// <summary>The epochs previewed: none without evaluation.preview, else those the export keeps and the grid shows.</summary>
    public static IReadOnlyList<int> Epochs(Recipes.Recipe recipe, int totalEpochs, string trigger)
    {
        if (!recipe.Evaluation.Preview) return [];
        var t = recipe.Training;
        var kept = TrainExportStage.KeptEpochs(totalEpochs, t.SaveEveryNEpochs, t.KeepOnlyLastNEpochs);
        return EvaluationGrid.Build(recipe.Evaluation, kept, trigger).DistinctRenders()
            .Select(r => r.Epoch).OfType<int>().Distinct().Order().ToList();
    }

    /// <summary>Renders the epoch's missing cells; returns how many were rendered.</summary>
    public static int Render(StageContext context, ProcessedIndex index, string epochDir, int epoch, int totalEpochs)
    {
        var recipe = context.Recipe;
        var t = recipe.Training;
        var trigger = DatasetTrigger.From(index);
        if (!Epochs(recipe, totalEpochs, trigger).Contains(epoch)) return 0;
        var kept = TrainExportStage.KeptEpochs(totalEpochs, t.SaveEveryNEpochs, t.KeepOnlyLastNEpochs);
        var renders = EvaluationGrid.Build(recipe.Evaluation, kept, trigger).DistinctRenders().Where(r => r.Epoch == epoch || r.IsBaseline).ToList();

        var downloadDir = context.UpstreamDirectory(StageCatalog.Download);
        var model = DownloadedModel.Load(downloadDir)!;
        var vae = DownloadedModel.Load(downloadDir, "vae");
        var identity = EvaluateStage.RenderIdentity(recipe, model.Sha256, vae?.Sha256);

        // The export's file for this epoch, under the export's name (the name is in each cell's infotext).
        var temp = Path.Combine(Path.GetTempPath(), "lorabake-preview-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(temp);
        try
        {
            var info = TrainExportStage.InfoForEpoch(context, index);
            var file = Path.Combine(temp, TrainExportStage.FileName(recipe.Name, epoch, totalEpochs));
            TrainExportStage.WriteEpochFile(info, KohyaMetadata.Build(info), epochDir, epoch, t.SavePrecision, file);
            var sha = Hashing.Sha256File(file);

            var cells = new CellStore(context.Store);
            var pending = new List<PendingRender>();
            var batches = SeedBatches.Of(renders);   // settings whole, so each batch is the one Evaluate computes
            foreach (var r in renders)
            {
                var canonical = CellKey.Canonical(identity, r.IsBaseline ? null : sha, r, PromptLoras.KeyOf(r.Prompt + "\n" + r.NegativePrompt, context.ProjectDir), batches[r]);
                var key = Hashing.Sha256Text(canonical);
                if (cells.TryGet(key) is null) pending.Add(new PendingRender(r, key, canonical, r.IsBaseline ? null : file, batches[r]));
            }
            if (pending.Count == 0) return 0;
            string checkpoint = ModelFiles.Checkpoint(model, downloadDir, context.Store);
            using var renderer = new CellRenderer(
                () => Sd1Model.Load(checkpoint, vae?.Path(downloadDir, context.Store), ModelFiles.TokenizerDir(recipe, context.ProjectDir, checkpoint, downloadDir),
                    frozenDtype: EvaluateStage.RenderDtype(recipe), sidecarPath: ModelFiles.Sidecar(downloadDir), device: Runtime.ComputeDevice.Select(t.Device, TrainEpochStage.DeviceSetting)),
                Path.GetFileNameWithoutExtension(model.FileName), model.Sha256[..Math.Min(10, model.Sha256.Length)], t.ClipSkip, context.Log,
                PromptLoras.Folders(context.ProjectDir));
            renderer.RenderAll(pending, cells, $"preview of epoch {epoch}");
            return pending.Count;
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
        }
    }
}
