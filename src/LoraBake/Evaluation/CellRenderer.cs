using LoraBake.Runtime;
using System.Diagnostics;
using System.Globalization;
using LoraBake.Models;
using LoraBake.Sampling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>One render to make: the grid's request, its cache key, the LoRA file it loads (null = baseline) and the
/// seeds it is rendered with in one UNet batch (<see cref="SeedBatches"/>; null = alone).</summary>
public sealed record PendingRender(RenderRequest Request, string Key, string Canonical, string? LoraPath, IReadOnlyList<long>? Batch = null)
{
    /// <summary>The seeds that go through the UNet together with this render, its own included.</summary>
    public IReadOnlyList<long> BatchSeeds => Batch is { Count: > 1 } b ? b : [Request.Seed];
}

/// <summary>
/// Renders missing grid cells with one <see cref="Sd1Generator"/>: the base model is loaded on the first
/// render only (a run with everything cached never loads it), and each finished render is committed to the
/// <see cref="CellStore"/> at once, so an interrupted evaluation keeps what it finished. The seeds of a cell go
/// through the UNet as one batch (<see cref="SeedBatches"/>), and a LoRA stays merged across the renders of one
/// file and weight (<see cref="Batches"/>).
/// </summary>
/// <param name="loraFolders">Where &lt;lora:NAME:W&gt; tags in prompts are looked up (<see cref="PromptLoras.Folders"/>).</param>
public sealed class CellRenderer(Func<Sd1Model> loadModel, string? modelName, string? modelHash, int clipSkip, Action<string> log,
    IReadOnlyList<string>? loraFolders = null) : IDisposable
{
    Sd1Model? _model;
    Sd1Generator? _generator;

    /// <summary>The webui request for a grid render: the LoRA at the same strength for text encoder and UNet, as `&lt;lora:NAME:W&gt;`.</summary>
    public static GenerateRequest ToGenerateRequest(RenderRequest r, string? loraPath, int clipSkip) => new(
        r.Prompt, r.NegativePrompt, r.Seed, r.Steps, r.Sampler, r.Cfg, r.Width, r.Height,
        loraPath is null ? [] : [new LoraReference(loraPath, r.Weight, r.Weight)], clipSkip);

    /// <summary>
    /// The pending renders as UNet batches: renders with the same LoRA file and weight adjacent (their merge is kept
    /// between them), and within those the renders of one <see cref="PendingRender.BatchSeeds"/> together. The order
    /// of first appearance is kept otherwise.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<PendingRender>> Batches(IReadOnlyList<PendingRender> pending) =>
        pending.GroupBy(p => (p.LoraPath, p.Request.Weight))
            .SelectMany(lora => lora.GroupBy(p => (Setting: p.Request with { Seed = 0 }, Seeds: string.Join(",", p.BatchSeeds))))
            .Select(b => (IReadOnlyList<PendingRender>)b.ToList())
            .ToList();

    /// <summary>Renders every pending cell into <paramref name="cells"/>; returns render path by request.</summary>
    public IReadOnlyDictionary<RenderRequest, string> RenderAll(IReadOnlyList<PendingRender> pending, CellStore cells, string stageName)
    {
        var result = new Dictionary<RenderRequest, string>();
        if (pending.Count == 0) return result;
        var total = Stopwatch.StartNew();
        var failed = new List<string>();
        int done = 0;
        EnsureLoaded(stageName);
        using (_generator!.KeepLorasMerged())
        {
            foreach (var batch in Batches(pending))
            {
                var watch = Stopwatch.StartNew();
                var first = batch[0];
                var what = What(first);
                var seeds = first.BatchSeeds;
                IReadOnlyList<Image<Rgb24>> images;
                try
                {
                    images = _generator.GenerateSeeds(ToGenerateRequest(first.Request, first.LoraPath, clipSkip), seeds);
                }
                catch (NonFiniteImageException error)
                {
                    // The batch's bytes depend on its composition, so a batch with a broken image stores none:
                    // every cell of it is named, and the rest are rendered.
                    foreach (var p in batch) Fail(p, error, failed, stageName);
                    continue;
                }
                for (int i = 0; i < seeds.Count; i++)
                    using (images[i])
                        if (batch.FirstOrDefault(p => p.Request.Seed == seeds[i]) is { } p) Store(p, images[i], cells, result);
                done += batch.Count;
                log(string.Create(CultureInfo.InvariantCulture,
                    $"{stageName}: rendered {done}/{pending.Count} ({what}, seed{(seeds.Count > 1 ? "s" : "")} {string.Join(", ", seeds)}) in {watch.Elapsed.TotalSeconds:0.0}s"));
            }
        }
        log(string.Create(CultureInfo.InvariantCulture,
            $"{stageName}: {pending.Count} renders in {total.Elapsed.TotalSeconds:0.0}s ({pending.Count / Math.Max(total.Elapsed.TotalSeconds, 1e-9):0.###} cells/s, model load included)"));
        if (failed.Count > 0)
            throw new UserError($"{stageName}: {failed.Count} of {pending.Count} grid cells rendered NaN or infinity and were not stored " +
                                "(a black square would pass for a result):\n- " + string.Join("\n- ", failed));
        return result;
    }

    void EnsureLoaded(string stageName)
    {
        if (_generator is not null) return;
        var load = Stopwatch.StartNew();
        _model = loadModel();
        _generator = new Sd1Generator(_model);
        if (loraFolders != null) _generator.LoraSearchFolders = loraFolders;
        log(string.Create(CultureInfo.InvariantCulture, $"{stageName}: model loaded in {load.Elapsed.TotalSeconds:0.0}s"));
    }

    void Store(PendingRender p, Image<Rgb24> image, CellStore cells, Dictionary<RenderRequest, string> result)
    {
        var request = ToGenerateRequest(p.Request, p.LoraPath, clipSkip);
        result[p.Request] = cells.Put(p.Key, p.Canonical, image, _generator!.Infotext(request, modelName, modelHash));
    }

    void Fail(PendingRender p, NonFiniteImageException error, List<string> failed, string stageName)
    {
        // Render the rest (they are cached), then fail with every broken cell named.
        failed.Add($"{What(p)}, seed {p.Request.Seed}: {error.Message}");
        log($"{stageName}: cell {What(p)}, seed {p.Request.Seed} is not finite; not stored");
    }

    static string What(PendingRender p) =>
        p.Request.Epoch is { } e ? $"epoch {e}, weight {PyNumber.Float(p.Request.Weight)}" : "baseline";

    public void Dispose()
    {
        _generator?.Dispose();
        _model?.Dispose();
    }
}
