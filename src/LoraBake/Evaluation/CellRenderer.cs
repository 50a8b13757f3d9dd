using LoraBake.Runtime;
using System.Diagnostics;
using System.Globalization;
using LoraBake.Models;
using LoraBake.Sampling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>One render to make: the grid's request, its cache key, and the LoRA file it loads (null = baseline).</summary>
public sealed record PendingRender(RenderRequest Request, string Key, string Canonical, string? LoraPath);

/// <summary>
/// Renders missing grid cells with one <see cref="Sd1Generator"/>: the base model is loaded on the first
/// render only (a run with everything cached never loads it), and each finished render is committed to the
/// <see cref="CellStore"/> at once, so an interrupted evaluation keeps what it finished.
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

    /// <summary>Renders every pending cell into <paramref name="cells"/>; returns render path by request.</summary>
    public IReadOnlyDictionary<RenderRequest, string> RenderAll(IReadOnlyList<PendingRender> pending, CellStore cells, string stageName)
    {
        var result = new Dictionary<RenderRequest, string>();
        if (pending.Count == 0) return result;
        var total = Stopwatch.StartNew();
        var failed = new List<string>();
        for (var i = 0; i < pending.Count; i++)
        {
            var p = pending[i];
            if (_generator is null)
            {
                var load = Stopwatch.StartNew();
                _model = loadModel();
                _generator = new Sd1Generator(_model);
                if (loraFolders != null) _generator.LoraSearchFolders = loraFolders;
                log(string.Create(CultureInfo.InvariantCulture, $"{stageName}: model loaded in {load.Elapsed.TotalSeconds:0.0}s"));
            }
            var watch = Stopwatch.StartNew();
            var request = ToGenerateRequest(p.Request, p.LoraPath, clipSkip);
            var what = p.Request.Epoch is { } e ? $"epoch {e}, weight {PyNumber.Float(p.Request.Weight)}" : "baseline";
            Image<Rgb24> image;
            try
            {
                image = _generator.Generate(request);
            }
            catch (NonFiniteImageException error)
            {
                // Render the rest (they are cached), then fail with every broken cell named.
                failed.Add($"{what}, seed {p.Request.Seed}: {error.Message}");
                log($"{stageName}: cell {what}, seed {p.Request.Seed} is not finite; not stored");
                continue;
            }
            using (image) result[p.Request] = cells.Put(p.Key, p.Canonical, image, _generator.Infotext(request, modelName, modelHash));
            log(string.Create(CultureInfo.InvariantCulture,
                $"{stageName}: rendered {i + 1}/{pending.Count} ({what}, seed {p.Request.Seed}) in {watch.Elapsed.TotalSeconds:0.0}s"));
        }
        log(string.Create(CultureInfo.InvariantCulture,
            $"{stageName}: {pending.Count} renders in {total.Elapsed.TotalSeconds:0.0}s ({pending.Count / Math.Max(total.Elapsed.TotalSeconds, 1e-9):0.###} cells/s, model load included)"));
        if (failed.Count > 0)
            throw new UserError($"{stageName}: {failed.Count} of {pending.Count} grid cells rendered NaN or infinity and were not stored " +
                                "(a black square would pass for a result):\n- " + string.Join("\n- ", failed));
        return result;
    }

    public void Dispose()
    {
        _generator?.Dispose();
        _model?.Dispose();
    }
}
