using LoraBake.Download;
using LoraBake.Numerics;
using System.Globalization;
using System.Text.RegularExpressions;
using LoraBake.Data;
using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Sampling;
using LoraBake.Training;
using SixLabors.ImageSharp;
using TorchSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>How many renders an Evaluate run made and how many it found in the cell cache.</summary>
public sealed record EvaluationCounts(int Rendered, int Cached);

/// <summary>
/// Evaluate: the recipe's `evaluation:` X/Y/Z grid over the exported epoch files (plus a baseline without the
/// LoRA), rendered, measured and written as publish/grids/grid.png, loss.png, report.html and evaluation.json.
/// The stage's fingerprint covers the evaluation settings and (through the planner) the upstream stages, so
/// any change re-runs it; but every render is its own cached object (<see cref="CellStore"/>, keyed by
/// <see cref="CellKey"/>), so a re-run renders only cells it has never rendered — a new weight or epoch costs
/// its new cells, a second run none — and loads the base model only when something is missing.
/// The base model's identity in the key is its SHA-256, the VAE's SHA-256 and clip_skip (<see cref="ModelIdentity"/>);
/// renders run in the precision training holds the base model in (<see cref="RenderPrecision"/>).
/// </summary>
public sealed class EvaluateStage(string exportStage = TrainExportStage.StageName) : IStage
{
    public const string GridFile = "grids/grid.png";
    public const string ReportFile = "report.html";
    public const string LossImageFile = "loss.png";
    public const string JsonFile = "evaluation.json";

    public string Name => StageCatalog.Evaluate;
    /// <summary>2: the seeds of a setting render as one UNet batch (<see cref="SeedBatches"/>), which rounds differently.</summary>
    public int SchemaVersion => 2;
    public bool ProducesFloatResults => true;
    public IReadOnlyList<string> DependsOn { get; } = [StageCatalog.Download, StageCatalog.Process, exportStage];

    /// <summary>The counts of the last <see cref="Run"/> of this instance (null before any).</summary>
    public EvaluationCounts? LastRun { get; private set; }

    public Fingerprint ComputeFingerprint(StageContext context)
    {
        var e = context.Recipe.Evaluation;
        var fb = new FingerprintBuilder(Name, SchemaVersion)
            .Add("output_name", context.Recipe.Name)
            .AddCanonical("evaluation", e)
            .Add("clip_skip", context.Recipe.Training.ClipSkip.ToString(CultureInfo.InvariantCulture))
            .Add("torch", TorchSharp.torch.__version__);
        // Renders on a GPU differ from the CPU's in the last bits; the CPU adds nothing (older locks stay valid).
        if (Runtime.ComputeDevice.FingerprintComponent(context.Recipe.Training.Device) is { } device) fb.Add("device", device);
        if (RenderPrecision(context.Recipe) is { } precision) fb.Add("render_precision", precision);
        if (RenderMath(context.Recipe) is { } math) fb.Add("render_math", math);
        // On the Guarded route renders run the convolutions whose forward passed the self-test on oneDNN.
        if (GuardedConv.RenderRoute is { } convs) fb.Add("render_convs", convs);
        if (context.Recipe.Training.ConvRoute != "auto") fb.Add("conv_route", context.Recipe.Training.ConvRoute);
        if (TrainEpochStage.TokenizerInput(context.Recipe, context.ProjectDir) is { } tokenizer) fb.Add("input:tokenizer", tokenizer);
        // Toy-world projects are scored by the concept detector: a changed detector re-measures (renders stay cached).
        if (string.Equals(context.Recipe.Model.Source.Trim(), "builtin:" + Models.ToySd1.Name, StringComparison.OrdinalIgnoreCase))
            fb.Add("concept_detector", ToyWorld.ConceptDetector.Version.ToString(CultureInfo.InvariantCulture));
        // <lora:NAME:W> files in the prompts or axes, by content (a missing one is the recipe check's error).
        var texts = string.Join("\n", e.Prompts.Append(e.NegativePrompt).Append(e.XAxis ?? "").Append(e.YAxis ?? "").Append(e.ZAxis ?? ""));
        try
        {
            foreach (var l in PromptLoras.In(texts, context.ProjectDir)) fb.Add("input:prompt_lora:" + l.Name, l.Sha256);
        }
        catch (Runtime.UserError) { fb.Add("input:prompt_lora", "missing"); }
        return fb.Build();
    }

    /// <summary>
    /// The identity of a render's base model under <paramref name="recipe"/>'s settings on this machine (Evaluate and the
    /// epoch previews): model SHA-256, VAE SHA-256 (or "builtin-vae"), clip skip. The device joins it only when not the
    /// CPU, the precision only when not fp32, the convolutions only on the Guarded route and the recipe's route only
    /// when named, so cached fp32 CPU cells keep their keys and the others are told apart.
    /// </summary>
    public static string RenderIdentity(Recipe recipe, string modelSha256, string? vaeSha256)
    {
        var t = recipe.Training;
        return $"{modelSha256}+{vaeSha256 ?? "builtin-vae"}+clip_skip={t.ClipSkip.ToString(CultureInfo.InvariantCulture)}" +
               (Runtime.ComputeDevice.FingerprintComponent(t.Device) is { } device ? $"+device={device}" : "") +
               (RenderPrecision(recipe) is { } precision ? $"+precision={precision}" : "") +
               (RenderMath(recipe) is { } math ? $"+math={math}" : "") +
               (GuardedConv.RenderRoute is { } convs ? $"+convs={convs}" : "") +
               (t.ConvRoute == "auto" ? "" : $"+conv_route={t.ConvRoute}");
    }

    /// <summary>
    /// What the base model renders in: what training holds it in (<c>mixed_precision</c>; auto as decided on this
    /// machine, so a CPU whose bf16 is right and fast renders the grid in bf16 too: its UNet steps are the cell's cost).
    /// Null for fp32. The VAE decodes in fp32 either way.
    /// </summary>
    public static string? RenderPrecision(Recipe recipe) =>
        AutoPrecision.Resolve(recipe.Training.MixedPrecision) is var p && p == "fp32" ? null : p;

    /// <summary>
    /// "fp32" where the base model is held in <see cref="RenderPrecision"/> but computed in fp32 (bf16 on a CPU whose
    /// bf16 math is wrong: <see cref="FrozenPrecision"/>); null where it computes in the dtype it is held in.
    /// </summary>
    public static string? RenderMath(Recipe recipe) =>
        TrainEpochStage.Precision(recipe.Training).Widened ? "fp32" : null;

    /// <summary>The dtype <see cref="RenderPrecision"/> names.</summary>
    public static torch.ScalarType RenderDtype(Recipe recipe) => TrainEpochStage.FrozenDtype(recipe.Training.MixedPrecision);

    public void Run(StageContext context, EntryWriter output)
    {
        var recipe = context.Recipe;
        var downloadDir = context.UpstreamDirectory(StageCatalog.Download);
        var processDir = context.UpstreamDirectory(StageCatalog.Process);
        var exportDir = context.UpstreamDirectory(exportStage);
        var model = DownloadedModel.Load(downloadDir) ?? throw new InvalidDataException($"{downloadDir}: the Download entry has no model.json");
        var vae = DownloadedModel.Load(downloadDir, "vae");
        var clipSkip = recipe.Training.ClipSkip;
        var identity = RenderIdentity(recipe, model.Sha256, vae?.Sha256);
        var trigger = DatasetTrigger.From(ProcessedIndex.Read(Path.Combine(processDir, ProcessedIndex.FileName)));
        var loras = EpochFiles(recipe.Name, exportDir, context.Upstream[exportStage].Files);
        var grid = EvaluationGrid.Build(recipe.Evaluation, loras.Keys.Order().ToList(), trigger);
        context.Log($"{Name}: trigger \"{trigger}\"; grid {grid.X.Count}×{grid.Y.Count}×{grid.Z.Count} cells over epochs {string.Join(", ", loras.Keys.Order())}");

        // Which renders the grid needs, which the store already has.
        var cells = new CellStore(context.Store);
        var keys = new Dictionary<RenderRequest, (string Key, string? LoraSha256)>();
        var paths = new Dictionary<RenderRequest, string>();
        var pending = new List<PendingRender>();
        var batches = SeedBatches.Of(grid.DistinctRenders());
        foreach (var r in grid.DistinctRenders())
        {
            string? loraPath = null, loraSha256 = null;
            if (r.Epoch is { } e) (loraPath, loraSha256) = loras[e];
            var canonical = CellKey.Canonical(identity, loraSha256, r, PromptLoras.KeyOf(r.Prompt + "\n" + r.NegativePrompt, context.ProjectDir), batches[r]);
            var key = Hashing.Sha256Text(canonical);
            keys[r] = (key, loraSha256);
            if (cells.TryGet(key) is { } cached) paths[r] = cached;
            else pending.Add(new PendingRender(r, key, canonical, loraPath, batches[r]));
        }
        pending = pending.OrderBy(p => p.Request.Epoch ?? -1).ThenBy(p => p.Request.Weight)
            .ThenBy(p => p.Request.Prompt, StringComparer.Ordinal).ThenBy(p => p.Request.Seed).ToList();
        var cachedCount = paths.Count;
        context.Log($"{Name}: {keys.Count} renders: {pending.Count} to render, {cachedCount} cached");

        context.Log($"{Name}: {NumericsGuard.Current.Summary}");
        string checkpoint = ModelFiles.Checkpoint(model, downloadDir, context.Store);
        var device = Runtime.ComputeDevice.Select(recipe.Training.Device, TrainEpochStage.DeviceSetting);
        context.Log($"{Name}: device {device}; the base model renders in {FrozenPrecision.For(RenderDtype(recipe), device.type).Describe}");
        using (var renderer = new CellRenderer(
                   () => Sd1Model.Load(checkpoint, vae?.Path(downloadDir, context.Store), ModelFiles.TokenizerDir(recipe, context.ProjectDir, checkpoint, downloadDir),
                       frozenDtype: RenderDtype(recipe), sidecarPath: ModelFiles.Sidecar(downloadDir), device: device),
                   Path.GetFileNameWithoutExtension(model.FileName), model.Sha256[..Math.Min(10, model.Sha256.Length)], clipSkip, context.Log,
                   PromptLoras.Folders(context.ProjectDir)))
        {
            foreach (var (r, p) in renderer.RenderAll(pending, cells, Name)) paths[r] = p;
        }
        LastRun = new EvaluationCounts(pending.Count, cachedCount);
        context.Log($"{Name}: rendered {pending.Count}, cached {cachedCount}");

        var publish = Path.Combine(output.Directory, Materializer.PublishDir);
        var images = paths.ToDictionary(kv => kv.Key, kv => Image.Load<Rgb24>(kv.Value));
        try
        {
            Image<Rgb24> ImageOf(RenderRequest r) => images[r];
            WriteGrid(Path.Combine(publish, GridFile), grid, ImageOf);
            var detector = ConceptDetectorFor(recipe.Model.Source, trigger);
            if (detector is not null) context.Log($"{Name}: toy-world project: scoring every cell with the \"{trigger}\" concept detector");
            var measured = GridMeasurements.MeasureCells(grid, ImageOf, detector);
            var groups = GridMeasurements.Group(measured, ImageOf);
            var diagnosis = Diagnosis.From(groups);
            var loss = LossLog.Read(Path.Combine(exportDir, Materializer.PublishDir, TrainingState.LossFile));
            if (loss.Count > 0)
                using (var chart = LossChart.Render(loss)) PngFile.Save(chart, Path.Combine(publish, LossImageFile), null);
            ReportHtml.Write(Path.Combine(publish, ReportFile), new ReportInputs
            {
                Recipe = recipe,
                RenderPrecision = RenderPrecision(recipe),
                Grids = [new ReportGrid("X/Y/Z plot", GridFile, grid)],
                Loss = loss,
                Dataset = ReportInputs.ReadDataset(Path.Combine(processDir, Materializer.PublishDir, "dataset.json")),
                Cells = measured,
                Groups = groups,
                Diagnosis = diagnosis,
            });
            EvaluationJson.Write(Path.Combine(publish, JsonFile),
                new EvaluationJson.Inputs(recipe.Name, trigger, identity, grid, [GridFile], r => keys[r], measured, diagnosis));
            foreach (var f in diagnosis.Findings) context.Log($"{Name}: {f}");
        }
        finally
        {
            foreach (var image in images.Values) image.Dispose();
        }
    }

    /// <summary>
    /// The concept detector of a toy-world project — one on builtin:toy-sd1 whose dataset trigger is the toy concept's —
    /// or null (every other project is measured by pixels alone).
    /// </summary>
    public static Func<Image<Rgb24>, double>? ConceptDetectorFor(string modelSource, string trigger) =>
        string.Equals(modelSource.Trim(), "builtin:" + Models.ToySd1.Name, StringComparison.OrdinalIgnoreCase)
        && trigger.Split(',')[0].Trim() == ToyWorld.ToyConcept.Trigger
            ? ToyWorld.ConceptDetector.Score
            : null;

    /// <summary>The exported epoch files NAME-NN.safetensors in the export entry's publish/: epoch → (path, SHA-256 from its manifest).</summary>
    public static IReadOnlyDictionary<int, (string Path, string Sha256)> EpochFiles(string project, string exportDir, IReadOnlyDictionary<string, string> files)
    {
        var pattern = new Regex("^" + Regex.Escape(Materializer.PublishDir + "/" + project + "-") + @"(\d{2,})\.safetensors$", RegexOptions.CultureInvariant);
        var result = new SortedDictionary<int, (string, string)>();
        foreach (var (rel, sha) in files)
        {
            var m = pattern.Match(rel);
            if (m.Success) result[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = (Path.Combine(exportDir, rel), sha);
        }
        return result;
    }

    /// <summary>The X/Y/Z picture: each cell its seeds side by side (webui's batch grid), sub-grids per Z value.</summary>
    static void WriteGrid(string path, EvaluationGrid grid, Func<RenderRequest, Image<Rgb24>> imageOf)
    {
        var cellImages = new List<Image<Rgb24>>();
        try
        {
            foreach (var cell in grid.Cells) cellImages.Add(GridImage.ImageGrid(cell.Renders().Select(imageOf).ToList()));
            using var picture = GridImage.Compose(cellImages, Labels(grid.X), Labels(grid.Y), Labels(grid.Z));
            PngFile.Save(picture, path, null);
        }
        finally
        {
            foreach (var i in cellImages) i.Dispose();
        }
    }

    static IReadOnlyList<string> Labels(GridAxis axis) => axis.Values.Select(v => v.Label).ToList();
}
