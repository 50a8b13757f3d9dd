using System.Globalization;

namespace LoraBake.Recipes;

/// <summary>sd-scripts' real schedule: batches never mix buckets, so an epoch is Σ over buckets of ceil(n/batch).</summary>
public sealed record BucketSchedule(int StepsPerEpoch, int TotalSteps, int Epochs, int WarmupSteps);

/// <summary>
/// The step arithmetic the colab prints before training (docs/kohya-compatibility.md, "Step arithmetic"), and, when the bucket sizes are
/// known, the real schedule next to it.
/// </summary>
public sealed record StepEstimate
{
    public required IReadOnlyList<(string Subset, int Images, int Repeats)> Subsets { get; init; }
    public required int BatchSize { get; init; }
    /// <summary>Σ images × repeats (the colab's pre_steps_per_epoch).</summary>
    public required int ImagesTimesRepeats { get; init; }
    /// <summary>images×repeats / batch, as the colab computes it (a fraction).</summary>
    public required double StepsPerEpoch { get; init; }
    public int StepsPerEpochCeil => (int)Math.Ceiling(StepsPerEpoch);
    /// <summary>how_many when counting steps, else int(epochs × steps per epoch).</summary>
    public required int TotalSteps { get; init; }
    /// <summary>how_many when counting epochs, else the colab's int(total / steps per epoch).</summary>
    public required int Epochs { get; init; }
    /// <summary>int(total × lr_warmup_ratio).</summary>
    public required int WarmupSteps { get; init; }
    /// <summary>The real schedule from bucket sizes, when they were given.</summary>
    public BucketSchedule? Buckets { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The lines the colab prints, plus the bucket schedule when known.</summary>
    public IReadOnlyList<string> Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>();
        foreach (var (subset, images, repeats) in Subsets)
            lines.Add(string.Create(inv, $"📁{subset}: {images} images with {repeats} repeats, {images * repeats} steps"));
        lines.Add(string.Create(inv, $"📈 Found {ImagesTimesRepeats} images×repeats; {StepsPerEpoch:0.##} steps per epoch at batch size {BatchSize}"));
        lines.Add(string.Create(inv, $"🔮 There will be {Epochs} epochs, for around {TotalSteps} total training steps; {WarmupSteps} warmup steps"));
        if (Buckets is { } b)
            lines.Add(string.Create(inv, $"🪣 With aspect-ratio buckets: {b.StepsPerEpoch} steps per epoch, {b.TotalSteps} total steps over {b.Epochs} epochs; {b.WarmupSteps} warmup steps"));
        lines.AddRange(Warnings.Select(w => "💥 " + w));
        return lines;
    }
}

public static class StepMath
{
    /// <summary>
    /// The colab's estimate for these subsets. <paramref name="bucketSizes"/>, when given, are the number of
    /// samples per bucket with repeats included (each image counted once per repeat); the real schedule is
    /// then computed next to the estimate.
    /// </summary>
    public static StepEstimate Estimate(Recipe recipe, IReadOnlyList<(string Subset, int Images, int Repeats)> subsets, IReadOnlyList<int>? bucketSizes = null)
    {
        var t = recipe.Training;
        int batch = t.TrainBatchSize;
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(recipe), "train_batch_size must be at least 1");
        int pre = subsets.Sum(s => s.Images * s.Repeats);
        double stepsPerEpoch = (double)pre / batch;
        int total, epochs;
        if (t.PreferredUnit == PreferredUnit.Steps)
        {
            total = t.HowMany;
            epochs = stepsPerEpoch > 0 ? (int)(total / stepsPerEpoch) : 0;
        }
        else
        {
            epochs = t.HowMany;
            total = (int)(t.HowMany * stepsPerEpoch);
        }
        int warmup = (int)(total * t.LrWarmupRatio);

        BucketSchedule? buckets = null;
        if (bucketSizes != null)
        {
            int real = bucketSizes.Sum(n => (n + batch - 1) / batch);
            int realTotal = t.PreferredUnit == PreferredUnit.Steps ? t.HowMany : t.HowMany * real;
            int realEpochs = t.PreferredUnit == PreferredUnit.Steps ? (real > 0 ? (realTotal + real - 1) / real : 0) : t.HowMany;
            buckets = new BucketSchedule(real, realTotal, realEpochs, (int)(realTotal * t.LrWarmupRatio));
        }

        var warnings = new List<string>();
        int worst = Math.Max(total, buckets?.TotalSteps ?? 0);
        if (worst > RecipeLoader.ColabStepLimit)
            warnings.Add(string.Create(CultureInfo.InvariantCulture,
                $"{worst:N0} total steps is more than the colab allows ({RecipeLoader.ColabStepLimit:N0}); lower num_repeats or how_many"));
        if (pre == 0) warnings.Add("no images found; the dataset folder is empty");

        return new StepEstimate
        {
            Subsets = subsets, BatchSize = batch, ImagesTimesRepeats = pre, StepsPerEpoch = stepsPerEpoch,
            TotalSteps = total, Epochs = epochs, WarmupSteps = warmup, Buckets = buckets, Warnings = warnings,
        };
    }
}
