using LoraBake.Data;
using LoraBake.Recipes;
using LoraBake.Training;

namespace LoraBake.Tests.Training;

/// <summary>Regularisation images as kohya: balanced to the training samples, weighted by prior_loss_weight, counted in the steps.</summary>
[Collection(LoraBake.Tests.Numerics.RouteCollection.Name)]
public class RegularizationTests
{
    static ProcessedIndexImage Img(string path, int repeats, bool reg, int w = 512) => new()
    {
        Path = path, Subset = reg ? "reg" : "train", PngSha256 = new string('0', 64), Bucket = [w, 512], OriginalSize = [w, 512],
        CropLtrb = [0, 0, w, 512], Tags = ["x"], Repeats = repeats, FlipAug = false, ShuffleTags = false, ActivationTags = 0, IsReg = reg,
    };

    [Fact]
    public void Reg_images_are_repeated_round_robin_until_they_match_the_training_samples()
    {
        // 2 training images × 3 repeats = 6 samples; 4 reg images × 1: all registered (4), then +1 for the first two.
        Assert.Equal([3, 3, 2, 2, 1, 1], RegularizationBalance.Repeats(
            [Img("a", 3, false), Img("b", 3, false), Img("r1", 1, true), Img("r2", 1, true), Img("r3", 1, true), Img("r4", 1, true)]));
        // Reg repeats 5: the first two reach 6 on the first pass; the third is never used (kohya's break).
        Assert.Equal([3, 3, 5, 5, 0], RegularizationBalance.Repeats(
            [Img("a", 3, false), Img("b", 3, false), Img("r1", 5, true), Img("r2", 5, true), Img("r3", 5, true)]));
        // No reg images: training repeats unchanged.
        Assert.Equal([2, 4], RegularizationBalance.Repeats([Img("a", 2, false), Img("b", 4, false)]));
    }

    [Fact]
    public void The_step_math_counts_the_balanced_reg_samples()
    {
        var index = new ProcessedIndex
        {
            Resolution = 512, CaptionDropoutRate = 0, CaptionTagDropoutRate = 0,
            Images = [Img("a", 3, false), Img("b", 3, false, 448), Img("r1", 1, true), Img("r2", 1, true, 448)],
        };
        var schedule = new EpochSchedule(index, new TrainingSettings { TrainBatchSize = 2, HowMany = 2, LrScheduler = "constant", LrWarmupRatio = 0 });
        Assert.Equal((6, 6), schedule.Samples);
        // Buckets 448×512: 3 train + 3 reg = 6 → 3 batches; 512×512 likewise.
        Assert.Equal(6, schedule.StepsPerEpoch);
        Assert.Equal(12, schedule.TotalSteps);
        Assert.Equal(12, schedule.BatchesOf(1).Sum(b => b.Samples.Count));
        Assert.Equal(6, schedule.BatchesOf(1).SelectMany(b => b.Samples).Count(s => index.Images[s.ImageIndex].IsReg));
        Assert.Equal(6, DatasetProcessor.Steps(index.Images, 2).Real);
    }

    [Fact, Trait("Category", "E2E")]
    public void A_reg_subset_trains_as_many_reg_samples_weighted_by_prior_loss_weight()
    {
        using var project = new TrainProject("  prior_loss_weight: 0", epochs: 1, repeats: 1);
        var projectDir = project.Layout.ProjectDir(TrainProject.Name);
        var reg = Path.Combine(projectDir, "reg");
        Directory.CreateDirectory(reg);
        var used = Directory.GetFiles(Path.Combine(projectDir, "dataset"), "*.png").Select(Path.GetFileName).ToHashSet();
        var extra = Directory.GetFiles(Path.Combine(project.Root, "gen"), "*.png").Order(StringComparer.Ordinal).First(f => !used.Contains(Path.GetFileName(f)));
        File.Copy(extra, Path.Combine(reg, "r.png"));
        File.WriteAllText(Path.Combine(reg, "r.txt"), "1girl, solo");
        var recipe = project.Layout.RecipePath(TrainProject.Name);
        File.WriteAllText(recipe, File.ReadAllText(recipe).Replace("  flip_aug: true\n", "  flip_aug: true\n  subsets:\n    - {path: dataset, num_repeats: 1}\n    - {path: reg, num_repeats: 1, is_reg: true}\n", StringComparison.Ordinal));
        project.RunAll(1);
        var rows = File.ReadAllLines(project.Output("loss.csv")).Skip(1).Select(l => double.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        // 3 training samples + the reg image balanced to 3 = 6 steps at batch 1; prior_loss_weight 0 zeroes exactly the reg steps.
        Assert.Equal(6, rows.Count);
        Assert.Equal(3, rows.Count(l => l == 0));
        var meta = LoraBake.Models.Checkpoints.SafetensorsFile.Open(project.Output("t-01.safetensors")).Metadata;
        Assert.Equal("1", meta["ss_num_reg_images"]);
        Assert.Equal("6", meta["ss_num_batches_per_epoch"]);
    }
}
