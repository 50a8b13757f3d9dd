using LoraBake.Data;
using LoraBake.Recipes;

namespace LoraBake.Training;

/// <summary>One training sample: an image of the processed index and which of its repeats this is.</summary>
/// <param name="SampleId">Stable id of (image, repeat): keys the caption shuffle and the flip choice.</param>
public readonly record struct TrainingSample(int ImageIndex, int Repeat, long SampleId);

/// <summary>One optimizer step's samples; all from one bucket (kohya never mixes buckets in a batch).</summary>
public sealed record TrainingBatch(int Width, int Height, IReadOnlyList<TrainingSample> Samples);

/// <summary>
/// The run's step arithmetic from the processed dataset, as sd-scripts computes it (docs/kohya-compatibility.md, "Step arithmetic"):
/// each image enters its bucket once per repeat, each bucket yields ceil(n / batch) batches, an epoch is all
/// batches, and the order is reshuffled each epoch from (seed, epoch). Warm-up steps come from the ratio of
/// the total (§1.5). Regularisation images enter as kohya balances them (<see cref="RegularizationBalance"/>):
/// as many reg samples as training samples per epoch, in the same buckets and batches.
/// </summary>
public sealed class EpochSchedule
{
    public int StepsPerEpoch { get; }
    public int Epochs { get; }
    public int TotalSteps { get; }
    public int WarmupSteps { get; }
    public LrSchedule Lr { get; }

    private readonly ProcessedIndex _index;
    private readonly int[] _repeats;
    private readonly int _batch;
    private readonly long _seed;

    public EpochSchedule(ProcessedIndex index, TrainingSettings training)
    {
        _index = index;
        _repeats = RegularizationBalance.Repeats(index.Images);
        _batch = training.TrainBatchSize;
        _seed = training.Seed;
        StepsPerEpoch = BucketSizes(index).Sum(n => (n + _batch - 1) / _batch);
        if (training.PreferredUnit == PreferredUnit.Steps)
        {
            TotalSteps = training.HowMany;
            Epochs = StepsPerEpoch > 0 ? (TotalSteps + StepsPerEpoch - 1) / StepsPerEpoch : 0;
        }
        else
        {
            Epochs = training.HowMany;
            TotalSteps = Epochs * StepsPerEpoch;
        }
        var type = LrSchedulers.ParseType(training.LrScheduler);
        // constant takes no warm-up (transformers raises; the colab omits it), whatever the ratio says.
        WarmupSteps = type == LrSchedulerType.Constant ? 0 : LrSchedule.WarmupFromRatio(TotalSteps, training.LrWarmupRatio);
        Lr = new LrSchedule(type, TotalSteps, WarmupSteps,
            numCycles: (int)Math.Max(1, Math.Round(training.LrSchedulerNumber)), power: training.LrSchedulerNumber);
    }

    /// <summary>Samples per bucket, repeats included, in bucket order.</summary>
    public static IReadOnlyList<int> BucketSizes(ProcessedIndex index)
    {
        var repeats = RegularizationBalance.Repeats(index.Images);
        return index.Images.Select((img, i) => (img, Repeats: repeats[i])).Where(x => x.Repeats > 0)
            .GroupBy(x => (x.img.Bucket[0], x.img.Bucket[1]))
            .OrderBy(g => g.Key.Item1).ThenBy(g => g.Key.Item2)
            .Select(g => g.Sum(x => x.Repeats)).ToList();
    }

    /// <summary>Samples per epoch: training images × repeats, and the reg images balanced to as many.</summary>
    public (int Train, int Reg) Samples =>
        (_index.Images.Select((img, i) => img.IsReg ? 0 : _repeats[i]).Sum(), _index.Images.Select((img, i) => img.IsReg ? _repeats[i] : 0).Sum());

    /// <summary>The global step numbers (0-based) of epoch <paramref name="epoch"/> (1-based).</summary>
    public (int First, int Count) StepsOf(int epoch)
    {
        int first = (epoch - 1) * StepsPerEpoch;
        int count = Math.Clamp(TotalSteps - first, 0, StepsPerEpoch);
        return (first, count);
    }

    /// <summary>The LR multipliers of the epoch's steps: part of the epoch's fingerprint.</summary>
    public IReadOnlyList<double> LrMultipliersOf(int epoch)
    {
        var (first, count) = StepsOf(epoch);
        return Enumerable.Range(first, count).Select(Lr.Multiplier).ToList();
    }

    /// <summary>The epoch's batches in training order (truncated when the run ends mid-epoch).</summary>
    public IReadOnlyList<TrainingBatch> BatchesOf(int epoch)
    {
        var rng = new DeterministicRng(_seed, epoch, 0x62617463 /* "batc" */);
        var batches = new List<TrainingBatch>();
        var buckets = _index.Images.Select((img, i) => (img, i)).Where(x => _repeats[x.i] > 0)
            .GroupBy(x => (W: x.img.Bucket[0], H: x.img.Bucket[1]))
            .OrderBy(g => g.Key.W).ThenBy(g => g.Key.H);
        foreach (var bucket in buckets)
        {
            var samples = bucket.SelectMany(x => Enumerable.Range(0, _repeats[x.i])
                .Select(r => new TrainingSample(x.i, r, (long)x.i << 20 | (uint)r))).ToList();
            rng.Shuffle(samples);
            for (int s = 0; s < samples.Count; s += _batch)
                batches.Add(new TrainingBatch(bucket.Key.W, bucket.Key.H, samples.GetRange(s, Math.Min(_batch, samples.Count - s))));
        }
        rng.Shuffle(batches);
        var (_, count) = StepsOf(epoch);
        return batches.Count > count ? batches.GetRange(0, count) : batches;
    }
}
