using LoraBake.Recipes;

namespace LoraBake.Tests.Recipes;

public sealed class StepMathTests
{
    static readonly (string, int, int)[] Subsets = [("10_char", 20, 10), ("5_extra", 15, 5)];

    [Fact]
    public void Epochs_as_the_colab_computes_them()
    {
        // 20×10 + 15×5 = 275 images×repeats; /2 = 137.5 steps per epoch; 10 epochs → int(1375) = 1375;
        // warmup int(1375 × 0.05) = int(68.75) = 68.
        var e = StepMath.Estimate(new Recipe(), Subsets);
        Assert.Equal(275, e.ImagesTimesRepeats);
        Assert.Equal(137.5, e.StepsPerEpoch);
        Assert.Equal(138, e.StepsPerEpochCeil);
        Assert.Equal(1375, e.TotalSteps);
        Assert.Equal(10, e.Epochs);
        Assert.Equal(68, e.WarmupSteps);
        Assert.Null(e.Buckets);
        Assert.Empty(e.Warnings);
    }

    [Fact]
    public void Steps_give_estimated_epochs()
    {
        // 1000 steps / 137.5 = 7.27 → 7 epochs; warmup int(50.0) = 50.
        var r = new Recipe { Training = new TrainingSettings { PreferredUnit = PreferredUnit.Steps, HowMany = 1000 } };
        var e = StepMath.Estimate(r, Subsets);
        Assert.Equal((1000, 7, 50), (e.TotalSteps, e.Epochs, e.WarmupSteps));
    }

    [Fact]
    public void Bucket_sizes_give_the_real_schedule_next_to_the_estimate()
    {
        // Buckets of 101, 99 and 75 samples (275 in all) at batch 2: 51 + 50 + 38 = 139 steps per epoch, not 137.5.
        var e = StepMath.Estimate(new Recipe(), Subsets, [101, 99, 75]);
        Assert.Equal(1375, e.TotalSteps);
        Assert.Equal(new BucketSchedule(139, 1390, 10, 69), e.Buckets);
        Assert.Contains(e.Describe(), l => l.Contains("139 steps per epoch"));

        var steps = new Recipe { Training = new TrainingSettings { PreferredUnit = PreferredUnit.Steps, HowMany = 1000 } };
        // sd-scripts: epochs = ceil(1000 / 139) = 8.
        Assert.Equal(new BucketSchedule(139, 1000, 8, 50), StepMath.Estimate(steps, Subsets, [101, 99, 75]).Buckets);
    }

    [Fact]
    public void More_than_ten_thousand_steps_warns()
    {
        // 100 × 10 / 1 = 1000 per epoch × 11 epochs = 11,000.
        var r = new Recipe { Training = new TrainingSettings { TrainBatchSize = 1, HowMany = 11 } };
        var e = StepMath.Estimate(r, [("10_a", 100, 10)]);
        Assert.Equal(11_000, e.TotalSteps);
        Assert.Contains("11,000", Assert.Single(e.Warnings));
        Assert.Empty(StepMath.Estimate(r with { Training = r.Training with { HowMany = 10 } }, [("10_a", 100, 10)]).Warnings);
    }

    [Fact]
    public void Describe_shows_the_colab_lines()
    {
        var lines = StepMath.Estimate(new Recipe(), Subsets).Describe();
        Assert.Equal("📁10_char: 20 images with 10 repeats, 200 steps", lines[0]);
        Assert.Contains(lines, l => l.Contains("137.5 steps per epoch"));
        Assert.Contains(lines, l => l.Contains("10 epochs, for around 1375 total training steps; 68 warmup steps"));
    }
}
