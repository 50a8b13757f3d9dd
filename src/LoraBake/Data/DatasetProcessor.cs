using System.Security.Cryptography;
using System.Text;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Data;

/// <summary>What a run did: images decoded and resized, images found in the cache, files read to hash.</summary>
public sealed record ProcessCounters(int Processed, int CacheHits, int FilesHashed);

/// <summary>A processed dataset: the report for people and CI, and the index for training.</summary>
public sealed record DatasetResult(DatasetReport Report, ProcessedIndex Index, ProcessCounters Counters);

/// <summary>
/// The Process stage's work, independent of the pipeline: discover → hash → find duplicates → process each
/// distinct image (cached per image by content + settings, in parallel) → read captions → report and index.
/// One unusable file never fails the run unless `strict: true`.
/// </summary>
public sealed class DatasetProcessor(IProcessedImageCache cache, FileHashCache hashes, int maxDegreeOfParallelism = 0)
{
    private readonly int _parallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;

    /// <summary>The per-image cache key: SHA-256 of the source content hash and the processing settings.</summary>
    public static string ImageKey(string sourceSha256, ImageProcessingSettings settings) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sourceSha256 + "\n" + settings.CanonicalText)));

    public DatasetResult Run(string projectDir, string projectName, DatasetSettings settings, int batchSize)
    {
        var layout = DatasetDiscovery.Discover(projectDir, projectName, settings);
        var processing = ImageProcessingSettings.From(settings);
        var hashedBefore = hashes.FilesHashed;
        var images = layout.Subsets.SelectMany(s => s.Images.Select(f => (Subset: s, File: f)))
            .OrderBy(x => x.File.RelativePath, StringComparer.Ordinal).ToList();

        // 1. Content hashes (stat-cached) and duplicate groups.
        var shas = new string[images.Count];
        Parallel.For(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = _parallelism }, i =>
        {
            try { shas[i] = hashes.Sha256(images[i].File.FullPath, images[i].File.Length, images[i].File.LastWriteUtc); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserError($"dataset file {images[i].File.FullPath} cannot be read ({e.Message}); fix its permissions or remove it, then run again.");
            }
        });
        var firstBySha = new Dictionary<string, int>(StringComparer.Ordinal);
        var duplicateOf = new int[images.Count];
        for (var i = 0; i < images.Count; i++)
        {
            duplicateOf[i] = -1;
            if (!firstBySha.TryAdd(shas[i], i)) duplicateOf[i] = firstBySha[shas[i]];
        }
        var duplicates = Enumerable.Range(0, images.Count).Where(i => duplicateOf[i] >= 0)
            .GroupBy(i => duplicateOf[i])
            .Select(g => (IReadOnlyList<string>)[images[g.Key].File.RelativePath, .. g.Select(i => images[i].File.RelativePath)])
            .ToList();

        // 2. Process each distinct image once (from the cache when possible).
        var metas = new ProcessedImageMeta?[images.Count];
        int processed = 0, hits = 0;
        var distinct = Enumerable.Range(0, images.Count).Where(i => duplicateOf[i] < 0).ToList();
        Parallel.ForEach(distinct, new ParallelOptions { MaxDegreeOfParallelism = _parallelism }, i =>
        {
            var key = ImageKey(shas[i], processing);
            var meta = cache.TryGet(key);
            if (meta != null) { Interlocked.Increment(ref hits); metas[i] = meta; return; }
            var bytes = File.ReadAllBytes(images[i].File.FullPath);
            var result = ImageProcessor.Process(bytes, processing);
            if (result.Meta.SourceSha256 != shas[i])
            {
                // The file changed without changing size or mtime: trust the content.
                hashes.Record(images[i].File.FullPath, images[i].File.Length, images[i].File.LastWriteUtc, result.Meta.SourceSha256);
                shas[i] = result.Meta.SourceSha256;
                key = ImageKey(shas[i], processing);
            }
            cache.Put(key, result);
            Interlocked.Increment(ref processed);
            metas[i] = result.Meta;
        });
        for (var i = 0; i < images.Count; i++)
            if (duplicateOf[i] >= 0) metas[i] = metas[duplicateOf[i]];
        hashes.Save();

        // 3. Captions, statuses, report entries.
        var warnings = new List<string>();
        var reports = new List<DatasetImageReport>();
        var indexImages = new List<ProcessedIndexImage>();
        var captionLists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < images.Count; i++)
        {
            var (subset, file) = images[i];
            var meta = metas[i]!;
            var (tags, source, written) = ReadTags(subset, file, warnings);
            string? reason = meta.Rejected;
            if (reason is null && duplicateOf[i] >= 0 && !settings.KeepDuplicates)
                reason = $"duplicate of {images[duplicateOf[i]].File.RelativePath} (identical bytes; set keep_duplicates: true to use both)";
            var used = reason is null;
            reports.Add(new DatasetImageReport
            {
                Path = file.RelativePath,
                Status = used ? "used" : "skipped",
                Reason = reason,
                Subset = subset.Name,
                Width = meta.Rejected is null ? meta.Width : null,
                Height = meta.Rejected is null ? meta.Height : null,
                Bucket = meta.Bucket,
                Repeats = subset.NumRepeats,
                Tags = tags,
                CaptionSource = source,
                Sha256 = shas[i],
            });
            if (!used) continue;
            if (!captionLists.TryGetValue(subset.Name, out var list)) captionLists[subset.Name] = list = [];
            list.Add(written);
            indexImages.Add(new ProcessedIndexImage
            {
                Path = file.RelativePath,
                Subset = subset.Name,
                PngSha256 = meta.PngSha256!,
                Bucket = meta.Bucket!,
                OriginalSize = [meta.Width, meta.Height],
                CropLtrb = meta.CropLtrb!,
                Tags = tags,
                Caption = written,
                Repeats = subset.NumRepeats,
                FlipAug = subset.FlipAug,
                ShuffleTags = subset.ShuffleTags,
                ActivationTags = subset.ActivationTags,
                IsReg = subset.IsReg,
            });
        }
        foreach (var s in layout.Skipped)
            reports.Add(new DatasetImageReport { Path = s.RelativePath, Status = "skipped", Reason = s.Reason });
        reports.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        foreach (var o in layout.OrphanCaptions) warnings.Add($"{o}: caption without an image (orphan), ignored");

        if (settings.Strict)
        {
            var problems = reports.Where(r => r.Status == "skipped" && !(r.Reason ?? "").StartsWith("duplicate of", StringComparison.Ordinal))
                .Select(r => $"  {r.Path}: {r.Reason}")
                .Concat(layout.OrphanCaptions.Select(o => $"  {o}: caption without an image"))
                .ToList();
            if (problems.Count > 0)
                throw new UserError($"dataset {layout.Root}: strict: true and {problems.Count} file(s) cannot be used:\n{string.Join("\n", problems)}\nRemove or fix these files, or set dataset.strict: false to skip them.");
        }
        if (indexImages.Count == 0)
            throw new UserError($"dataset {layout.Root}: no usable images ({reports.Count} file(s) looked at). Add .png/.jpg/.jpeg/.webp/.bmp images to it; see output/{projectName}/dataset.json for why each file was skipped.");

        var report = new DatasetReport
        {
            Project = projectName,
            Resolution = settings.Resolution,
            Subsets = [.. layout.Subsets.Select(s => new SubsetReport(s.Name, s.RelativeDir, s.NumRepeats, s.ClassTokens,
                indexImages.Count(x => x.Subset == s.Name), s.FlipAug, s.IsReg))],
            Images = reports,
            Duplicates = duplicates,
            OrphanCaptions = layout.OrphanCaptions,
            TagFrequency = captionLists.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .ToDictionary(kv => kv.Key, kv => Tags.Frequency(kv.Value), StringComparer.Ordinal),
            Buckets = indexImages.GroupBy(x => (x.Bucket[0], x.Bucket[1])).OrderBy(g => g.Key.Item1).ThenBy(g => g.Key.Item2)
                .ToDictionary(g => $"{g.Key.Item1}x{g.Key.Item2}", g => g.Count()),
            StepsPerEpoch = Steps(indexImages, batchSize),
            Warnings = warnings,
        };
        var index = new ProcessedIndex
        {
            Resolution = settings.Resolution,
            CaptionDropoutRate = settings.CaptionDropoutRate,
            CaptionTagDropoutRate = settings.CaptionTagDropoutRate,
            Images = indexImages,
        };
        return new DatasetResult(report, index, new ProcessCounters(processed, hits, hashes.FilesHashed - hashedBefore));
    }

    /// <summary>Per bucket ceil(Σ repeats ÷ batch) — each image enters its bucket `repeats` times, reg images as balanced (§2.9).</summary>
    public static StepsPerEpoch Steps(IReadOnlyList<ProcessedIndexImage> images, int batchSize)
    {
        if (batchSize < 1) throw new UserError($"training.train_batch_size must be at least 1 (got {batchSize}).");
        var repeats = RegularizationBalance.Repeats(images);
        var perBucket = images.Select((x, i) => (x, Repeats: repeats[i])).Where(x => x.Repeats > 0)
            .GroupBy(x => (x.x.Bucket[0], x.x.Bucket[1])).OrderBy(g => g.Key.Item1).ThenBy(g => g.Key.Item2)
            .ToDictionary(g => $"{g.Key.Item1}x{g.Key.Item2}", g =>
            {
                var samples = g.Sum(x => x.Repeats);
                return new BucketSteps(g.Count(), samples, (samples + batchSize - 1) / batchSize);
            });
        return new StepsPerEpoch
        {
            BatchSize = batchSize,
            Real = perBucket.Values.Sum(b => b.Batches),
            ColabEstimate = (double)images.Sum(x => x.Repeats) / batchSize,
            PerBucket = perBucket,
        };
    }

    private static (IReadOnlyList<string> Tags, string Source, string Written) ReadTags(DatasetSubset subset, DatasetFile image, List<string> warnings)
    {
        IReadOnlyList<string> fallback = Tags.Split(subset.ClassTokens);
        var classTokens = subset.ClassTokens;
        if (!subset.Captions.TryGetValue(image.RelativePath, out var captionFile))
        {
            warnings.Add($"{image.RelativePath}: no caption file ({subset.CaptionExtension}); using the class tokens \"{subset.ClassTokens}\"");
            return (fallback, "class_tokens", classTokens);
        }
        var line = Tags.ReadFirstLine(File.ReadAllBytes(captionFile.FullPath));
        if (line is null)
        {
            warnings.Add($"{captionFile.RelativePath}: not UTF-8 text; using the class tokens \"{subset.ClassTokens}\" instead. Re-save it as UTF-8.");
            return (fallback, "class_tokens", classTokens);
        }
        var tags = Tags.Split(line);
        if (tags.Count == 0)
        {
            warnings.Add($"{captionFile.RelativePath}: empty caption; using the class tokens \"{subset.ClassTokens}\"");
            return (fallback, "class_tokens", classTokens);
        }
        return (tags, "file", line);
    }
}
