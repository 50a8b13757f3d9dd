using LoraBake.Data;
using LoraBake.Evaluation;

namespace LoraBake.Tests.Evaluation;

/// <summary>What the Evaluate stage reads from upstream: the trigger from the processed index, the epoch files of Train-Export.</summary>
public class EvaluateStageInputsTests
{
    static ProcessedIndexImage Img(string path, int keep, bool reg, params string[] tags) => new()
    {
        Path = path, Subset = "s", PngSha256 = new string('0', 64), Bucket = [512, 512], OriginalSize = [512, 512], CropLtrb = [0, 0, 512, 512],
        Tags = tags, Repeats = 1, FlipAug = false, ShuffleTags = false, ActivationTags = keep, IsReg = reg,
    };

    static ProcessedIndex Index(params ProcessedIndexImage[] images) =>
        new() { Resolution = 512, CaptionDropoutRate = 0, CaptionTagDropoutRate = 0, Images = images };

    [Fact]
    public void Trigger_is_the_most_common_run_of_leading_tags()
    {
        Assert.Equal("bakechan", DatasetTrigger.From(Index(
            Img("a", 1, false, "other", "x"), Img("b", 1, false, "bakechan", "y"), Img("c", 1, false, "bakechan", "z"))));
        Assert.Equal("bakechan, red hair", DatasetTrigger.From(Index(
            Img("a", 2, false, "bakechan", "red hair", "smile"), Img("b", 2, false, "bakechan", "red hair"), Img("c", 2, false, "bakechan", "blue"))));
        // A tie goes to the run seen first; regularization images and short captions do not count.
        Assert.Equal("first", DatasetTrigger.From(Index(
            Img("a", 1, false, "first"), Img("b", 1, false, "second"), Img("r1", 1, true, "reg"), Img("r2", 1, true, "reg"))));
        Assert.Equal("", DatasetTrigger.From(Index(Img("a", 0, false, "bakechan"), Img("b", 3, false, "one", "two"))));
    }

    [Fact]
    public void Epoch_files_are_read_from_the_export_manifest()
    {
        var files = new Dictionary<string, string>
        {
            ["publish/demo-01.safetensors"] = "aa",
            ["publish/demo-10.safetensors"] = "bb",
            ["publish/demo-final.safetensors"] = "cc",
            ["publish/other-02.safetensors"] = "dd",
            ["publish/loss.csv"] = "ee",
            ["demo-03.safetensors"] = "ff",
        };
        var epochs = EvaluateStage.EpochFiles("demo", "/entry", files);
        Assert.Equal([1, 10], epochs.Keys);
        Assert.Equal((Path.Combine("/entry", "publish/demo-10.safetensors"), "bb"), epochs[10]);
    }
}
