namespace LoraBake.Recipes;

/// <summary>
/// Checks that involve more than one key or the file system, run after binding: the model source exists,
/// scheduler numbers fit the scheduler, buckets contain the resolution, and the step count stays sane.
/// </summary>
internal sealed class RecipeChecks(Recipe recipe, string projectDir, IReadOnlyDictionary<string, YNode> places,
    Func<string, string> display, List<RecipeDiagnostic> errors, List<RecipeDiagnostic> warnings)
{
    public void Run()
    {
        var m = recipe.Model;
        if (ModelSource.Resolve(m.Source, m.Sha256, projectDir, out var error) == null)
            Error("model.source", error!);
        if (m.Vae != null && ModelSource.Resolve(m.Vae, m.VaeSha256, projectDir, out var vaeError, allowPresets: false) == null)
            Error("model.vae", vaeError!);
        if (m.Tokenizer != null && !Directory.Exists(Path.Combine(projectDir, m.Tokenizer)))
            Error("model.tokenizer", $"folder {Path.GetFullPath(Path.Combine(projectDir, m.Tokenizer))} does not exist; it should hold vocab.json and merges.txt");
        if (m.Sha256 != null && !IsSha256(m.Sha256)) Error("model.sha256", $"\"{m.Sha256}\" is not a SHA-256 (64 hex digits)");
        if (m.VaeSha256 != null && !IsSha256(m.VaeSha256)) Error("model.vae_sha256", $"\"{m.VaeSha256}\" is not a SHA-256 (64 hex digits)");

        var t = recipe.Training;
        if (t.LrScheduler == "cosine_with_restarts" && (t.LrSchedulerNumber < 1 || t.LrSchedulerNumber != Math.Floor(t.LrSchedulerNumber)))
            Error("training.lr_scheduler_number", $"{RecipeRules.Show(t.LrSchedulerNumber)} is not allowed with cosine_with_restarts; it counts restarts, so use a whole number of 1 or more (3 is the colab's default)");
        if (t.LrScheduler == "polynomial" && t.LrSchedulerNumber <= 0)
            Error("training.lr_scheduler_number", $"{RecipeRules.Show(t.LrSchedulerNumber)} is not allowed with polynomial; it is the power, use a number above 0 (1 is linear)");
        if (t.LrScheduler == "constant" && t.LrWarmupRatio > 0)
            Warn("training.lr_warmup_ratio", "is ignored with the constant scheduler (the colab drops it too); use constant_with_warmup to warm up");
        // The optimizer, the starting LoRA, the prompts and the grid: checked by the layers that use them.
        var report = new SettingsReport(Error, Warn);
        foreach (var check in SettingsChecks.All) check.Check(recipe, projectDir, report);
        if (t.PreferredUnit == PreferredUnit.Steps && t.HowMany > RecipeLoader.ColabStepLimit)
            Warn("training.how_many", $"{t.HowMany} steps is more than the colab allows ({RecipeLoader.ColabStepLimit:N0}); LoRAs rarely need that many");

        var d = recipe.Dataset;
        for (int i = 0; i < d.Subsets.Count; i++)
            if (!Directory.Exists(Path.Combine(projectDir, d.Subsets[i].Path)))
                Error($"dataset.subsets[{i}].path", $"folder {Path.GetFullPath(Path.Combine(projectDir, d.Subsets[i].Path))} does not exist; subset paths are relative to the project folder");
        if (d.EffectiveMinBucketReso > d.EffectiveMaxBucketReso)
            Error(d.MinBucketReso != null ? "dataset.min_bucket_reso" : "dataset.max_bucket_reso",
                $"min_bucket_reso {d.EffectiveMinBucketReso} is above max_bucket_reso {d.EffectiveMaxBucketReso}");
        else if (d.Resolution < d.EffectiveMinBucketReso || d.Resolution > d.EffectiveMaxBucketReso)
            Error("dataset.resolution", $"{d.Resolution} is outside the buckets {d.EffectiveMinBucketReso}–{d.EffectiveMaxBucketReso}; widen min_bucket_reso/max_bucket_reso");

        if (t.PreferredUnit == PreferredUnit.Epochs && errors.Count == 0)
        {
            var counts = DatasetCensus.Count(recipe, projectDir);
            if (counts.Count > 0 && counts.Sum(c => c.Images) > 0)
            {
                var estimate = StepMath.Estimate(recipe, counts);
                if (estimate.TotalSteps > RecipeLoader.ColabStepLimit)
                    Warn("training.how_many", $"{t.HowMany} epochs of {estimate.ImagesTimesRepeats} images×repeats at batch {t.TrainBatchSize} is about {estimate.TotalSteps:N0} steps, more than the colab allows ({RecipeLoader.ColabStepLimit:N0}); lower num_repeats or how_many");
            }
        }
    }

    static bool IsSha256(string s) => s.Length == 64 && s.All(Uri.IsHexDigit);

    RecipeDiagnostic At(string keyPath, string message)
    {
        if (places.TryGetValue(keyPath, out var node)) return new(display(node.File), node.Line, node.Column, keyPath, message);
        return new(display(recipe.SourcePath), 1, 1, keyPath, message + " (value from the defaults)");
    }

    void Error(string keyPath, string message) => errors.Add(At(keyPath, message));
    void Warn(string keyPath, string message) => warnings.Add(At(keyPath, message));
}
