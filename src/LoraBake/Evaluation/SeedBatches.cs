namespace LoraBake.Evaluation;

/// <summary>
/// Which renders of a grid share one UNet batch: those that differ only by seed (same epoch, weight, prompts,
/// sampler, steps, CFG and size), their seeds in ascending order cut into chunks of at most <see cref="MaxSeeds"/>.
/// The batch depends only on the grid, never on what is cached, so a render's bytes are a function of its
/// <see cref="CellKey"/> (which names the batch): the UNet's sums at batch 2·S round differently from batch 2 in the
/// last bits (≤ 1/255 in a pixel here), so a render's batch is part of what it is.
/// </summary>
public static class SeedBatches
{
    /// <summary>Pixel budget of one batch: two 512×512 images (UNet batch 4 with CFG).</summary>
    public const long PixelBudget = 2L * 512 * 512;

    /// <summary>
    /// The most seeds in one batch at <paramref name="width"/>×<paramref name="height"/>: 2 at 512×512 (fp32
    /// activations at 512 px add ~1.5 GB per image on top of the ~4 GB model), 8 at 256 px, 64 at most. A fixed
    /// function of the size, not of this machine's memory, so cache keys are the same everywhere.
    /// </summary>
    public static int MaxSeeds(int width, int height) =>
        (int)Math.Clamp(PixelBudget / Math.Max(1L * width * height, 1), 1, 64);

    /// <summary>Each render's batch: the seeds rendered together with it, its own included, ascending.</summary>
    public static IReadOnlyDictionary<RenderRequest, IReadOnlyList<long>> Of(IEnumerable<RenderRequest> renders)
    {
        var result = new Dictionary<RenderRequest, IReadOnlyList<long>>();
        foreach (var setting in renders.Distinct().GroupBy(r => r with { Seed = 0 }))
            foreach (var chunk in setting.OrderBy(r => r.Seed).Chunk(MaxSeeds(setting.Key.Width, setting.Key.Height)))
            {
                IReadOnlyList<long> seeds = chunk.Select(r => r.Seed).ToList();
                foreach (var r in chunk) result[r] = seeds;
            }
        return result;
    }
}
