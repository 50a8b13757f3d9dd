using LoraBake.Evaluation;
using LoraBake.Recipes;

namespace LoraBake.Tests.Evaluation;

public sealed class CellKeyTests
{
    const string Model = "model-sha";
    static string? LoraHash(int? epoch) => epoch is { } e ? $"lora-{e}" : null;
    static HashSet<string> Keys(EvaluationGrid g) =>
        g.Cells.SelectMany(c => c.Renders()).Select(r => CellKey.Compute(Model, LoraHash(r.Epoch), r)).ToHashSet();

    [Fact]
    public void Adding_a_weight_or_an_epoch_only_adds_keys()
    {
        var s = new EvaluationSettings { Weights = [0.5, 1.0] };
        var before = Keys(EvaluationGrid.Build(s, [1, 2], "t"));
        // 2 epochs × 2 weights × 2 seeds + baseline 2 seeds (shared by both rows).
        Assert.Equal(2 * 2 * 2 + 2, before.Count);
        Assert.Equal(before.Count, EvaluationGrid.Build(s, [1, 2], "t").DistinctRenders().Count);

        var moreWeights = Keys(EvaluationGrid.Build(s with { Weights = [0.5, 0.75, 1.0] }, [1, 2], "t"));
        Assert.Subset(moreWeights, before);
        Assert.Equal(before.Count + 2 * 2, moreWeights.Count);

        var moreEpochs = Keys(EvaluationGrid.Build(s, [1, 2, 3], "t"));
        Assert.Subset(moreEpochs, before);
        Assert.Equal(before.Count + 2 * 2, moreEpochs.Count);
    }

    [Fact]
    public void Every_field_changes_the_key()
    {
        var r = new RenderRequest { Epoch = 1, Weight = 0.8, Prompt = "p", NegativePrompt = "n", Seed = 1, Sampler = "euler_a", Steps = 20, Cfg = 7, Width = 512, Height = 512 };
        var k = CellKey.Compute(Model, "h", r);
        RenderRequest[] variants =
        [
            r with { Weight = 0.9 }, r with { Prompt = "q" }, r with { NegativePrompt = "m" }, r with { Seed = 2 }, r with { Sampler = "ddim" },
            r with { Steps = 21 }, r with { Cfg = 7.5 }, r with { Width = 576 }, r with { Height = 576 },
        ];
        var all = variants.Select(v => CellKey.Compute(Model, "h", v)).Append(CellKey.Compute("other", "h", r)).Append(CellKey.Compute(Model, "h2", r)).Append(k);
        Assert.Equal(variants.Length + 3, all.Distinct().Count());
        // An epoch's number is not part of the key, its file's hash is.
        Assert.Equal(k, CellKey.Compute(Model, "h", r with { Epoch = 7 }));
        Assert.Matches("^[0-9a-f]{64}$", k);
    }

    [Fact]
    public void Canonical_is_documented_text_and_prompts_cannot_forge_lines()
    {
        var r = new RenderRequest { Epoch = null, Weight = 0, Prompt = "a\nseed=9", NegativePrompt = "", Seed = 1, Sampler = "euler_a", Steps = 20, Cfg = 7, Width = 512, Height = 512 };
        var text = CellKey.Canonical("m", null, r);
        Assert.Equal("lorabake-cell-v1\nmodel=\"m\"\nlora=baseline\nweight=none\nprompt=\"a\\nseed=9\"\nnegative=\"\"\nseed=1\n"
            + "sampler=\"euler_a\"\nsteps=20\ncfg=7\nwidth=512\nheight=512\n", text);
        Assert.Throws<ArgumentException>(() => CellKey.Compute("m", "h", r));
    }
}
