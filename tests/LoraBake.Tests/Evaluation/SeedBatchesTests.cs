using LoraBake.Evaluation;

namespace LoraBake.Tests.Evaluation;

/// <summary>Which renders share a UNet batch, how the batch enters the cell key, and the renderer's order.</summary>
public sealed class SeedBatchesTests
{
    static RenderRequest R(long seed, int? epoch = 1, double weight = 1, int size = 64, string prompt = "p") => new()
    {
        Epoch = epoch, Weight = epoch is null ? 0 : weight, Prompt = prompt, NegativePrompt = "", Seed = seed,
        Sampler = "euler_a", Steps = 20, Cfg = 7, Width = size, Height = size,
    };

    [Fact]
    public void Renders_differing_only_by_seed_share_a_batch_cut_by_the_size_cap()
    {
        var batches = SeedBatches.Of([R(2), R(1), R(3), R(1, weight: 0.5), R(5, size: 512), R(4, size: 512), R(6, size: 512)]);
        Assert.Equal([1L, 2, 3], batches[R(2)]);
        Assert.Same(batches[R(1)], batches[R(3)]);
        Assert.Equal([1L], batches[R(1, weight: 0.5)]);
        Assert.Equal(2, SeedBatches.MaxSeeds(512, 512));
        Assert.Equal([4L, 5], batches[R(5, size: 512)]);
        Assert.Equal([6L], batches[R(6, size: 512)]);
        Assert.Equal(8, SeedBatches.MaxSeeds(256, 256));
        Assert.Equal(1, SeedBatches.MaxSeeds(1024, 1024));
    }

    [Fact]
    public void A_render_alone_keeps_its_key_and_a_batched_one_names_its_batch()
    {
        var r = R(1);
        var alone = CellKey.Canonical("m", "h", r);
        Assert.Equal(alone, CellKey.Canonical("m", "h", r, batch: [1]));
        var batched = CellKey.Canonical("m", "h", r, batch: [1, 2]);
        Assert.Equal(alone + "batch=1,2\n", batched);
        Assert.NotEqual(batched, CellKey.Canonical("m", "h", r, batch: [1, 3]));
        Assert.Throws<ArgumentException>(() => CellKey.Canonical("m", "h", r, batch: [2, 3]));
    }

    [Fact]
    public void The_renderer_keeps_one_file_and_weight_together_and_one_batch_in_one_call()
    {
        PendingRender P(RenderRequest r, string? lora, IReadOnlyList<long>? batch) => new(r, $"{lora}{r.Weight}{r.Prompt}{r.Seed}", "", lora, batch);
        var pending = new[]
        {
            P(R(1, prompt: "a"), "e1", [1, 2]), P(R(1, weight: 0.5), "e1", [1]), P(R(1, epoch: null), null, [1, 2]),
            P(R(2, prompt: "a"), "e1", [1, 2]), P(R(1, prompt: "b"), "e1", [1, 2]), P(R(2, epoch: null), null, [1, 2]),
        };
        var batches = CellRenderer.Batches(pending);
        Assert.Equal(4, batches.Count);
        Assert.Equal([1L, 2], batches[0].Select(p => p.Request.Seed));
        Assert.All(batches[0], p => Assert.Equal("a", p.Request.Prompt));
        Assert.Equal("b", Assert.Single(batches[1]).Request.Prompt);   // same file and weight as the first: next to it
        Assert.Equal(0.5, Assert.Single(batches[2]).Request.Weight);
        Assert.All(batches[3], p => Assert.True(p.Request.IsBaseline));
        Assert.Equal([2L], P(R(2), "e1", null).BatchSeeds);
    }
}
