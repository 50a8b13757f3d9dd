using System.Globalization;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using Spectre.Console;

namespace LoraBake.Data;

/// <summary>
/// The Process stage: dataset folder → bucketed RGB images (store blobs), captions as tags, index.json for
/// training and publish/dataset.json (copied to output/NAME/dataset.json) for people and CI.
/// It needs no model, so it depends on no stage. Its fingerprint is the content hash of every dataset file,
/// the canonical `dataset:` section, the batch size (steps per epoch in the report) and the seed. File hashes
/// come from a stat cache in the store (path + size + mtime → SHA-256); mtime only decides whether a file is
/// re-read, never enters the fingerprint.
/// </summary>
public sealed class ProcessStage(int maxDegreeOfParallelism = 0) : IStage
{
    public string Name => StageCatalog.Process;
    public int SchemaVersion => 2; // 2: index.json carries each caption as written
    public IReadOnlyList<string> DependsOn => [];

    /// <summary>What the last <see cref="Run"/> of this instance did (tests check cache behaviour with it).</summary>
    public ProcessCounters? LastCounters { get; private set; }
    /// <summary>The report of the last <see cref="Run"/>.</summary>
    public DatasetReport? LastReport { get; private set; }

    private static readonly int DefaultParallelism = Math.Clamp(Environment.ProcessorCount, 1, 8);

    public Fingerprint ComputeFingerprint(StageContext context)
    {
        var recipe = context.Recipe;
        var fb = new FingerprintBuilder(Name, SchemaVersion)
            .AddCanonical("dataset", recipe.Dataset)
            .Add("recipe:training.train_batch_size", recipe.Training.TrainBatchSize.ToString(CultureInfo.InvariantCulture))
            .Add("recipe:training.seed", recipe.Training.Seed.ToString(CultureInfo.InvariantCulture))
            .Add("image_algorithm", ImageProcessingSettings.AlgorithmVersion.ToString(CultureInfo.InvariantCulture));
        // A missing dataset folder is Run's error to report (with the fix); the plan just shows the stage as stale.
        var root = DatasetDiscovery.DatasetRoot(context.ProjectDir, recipe.Dataset);
        if (!Directory.Exists(root)) return fb.Add("input:dataset", "missing").Build();
        var layout = DatasetDiscovery.Discover(context.ProjectDir, context.Project, recipe.Dataset);
        var hashes = HashCache(context.Store, layout.Root);
        foreach (var subset in layout.Subsets)
        {
            foreach (var image in subset.Images) fb.Add("input:" + image.RelativePath, TryHash(hashes, image));
            foreach (var caption in subset.Captions.Values) fb.Add("input:" + caption.RelativePath, TryHash(hashes, caption));
        }
        // Skipped files and orphans change the report (and fail a strict build), not the images: by name only.
        foreach (var s in layout.Skipped) fb.Add("input:" + s.RelativePath, "skipped");
        foreach (var o in layout.OrphanCaptions) fb.Add("input:" + o, "orphan");
        hashes.Save();
        return fb.Build();
    }

    // A file that cannot be read makes the plan stale, not a crash; Process then says which file and why.
    static string TryHash(FileHashCache hashes, DatasetFile file)
    {
        try { return hashes.Sha256(file.FullPath, file.Length, file.LastWriteUtc); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unreadable"; }
    }

    public void Run(StageContext context, EntryWriter output)
    {
        var recipe = context.Recipe;
        var root = DatasetDiscovery.DatasetRoot(context.ProjectDir, recipe.Dataset);
        var processor = new DatasetProcessor(new StoreProcessedImageCache(context.Store), HashCache(context.Store, root),
            maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : DefaultParallelism);
        var result = processor.Run(context.ProjectDir, context.Project, recipe.Dataset, recipe.Training.TrainBatchSize);

        File.WriteAllText(Path.Combine(output.Directory, ProcessedIndex.FileName), result.Index.ToJson());
        foreach (var sha in result.Index.Images.Select(i => i.PngSha256).Distinct(StringComparer.Ordinal))
            output.ReferenceBlob(sha);
        var publish = Path.Combine(output.Directory, Materializer.PublishDir);
        Directory.CreateDirectory(publish);
        File.WriteAllText(Path.Combine(publish, "dataset.json"), result.Report.ToJson());

        LastCounters = result.Counters;
        LastReport = result.Report;
        context.Log($"Process: {result.Report.UsedCount} images used, {result.Report.SkippedCount} skipped; " +
                    $"{result.Counters.Processed} processed, {result.Counters.CacheHits} from cache, {result.Counters.FilesHashed} files hashed");
        context.Log(RenderTable(result.Report, result.Counters));
    }

    /// <summary>The report tables as plain text (the stage log has no console of its own).</summary>
    public static string RenderTable(DatasetReport report, ProcessCounters? counters)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 120;
        DatasetReportConsole.Write(console, report, counters);
        return writer.ToString().TrimEnd();
    }

    /// <summary>The stat cache of one dataset folder, kept in the store (stat-cache/SHA256(folder).json).</summary>
    public static FileHashCache HashCache(ArtifactStore store, string datasetRoot) =>
        new(Path.Combine(store.Root, "stat-cache", Hashing.Sha256Text(Path.GetFullPath(datasetRoot)) + ".json"));
}
