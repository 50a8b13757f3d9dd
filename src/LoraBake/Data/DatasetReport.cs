using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoraBake.Data;

/// <summary>One source file as output/NAME/dataset.json lists it.</summary>
public sealed record DatasetImageReport
{
    /// <summary>Relative to the dataset folder, forward slashes.</summary>
    public required string Path { get; init; }
    /// <summary>"used" or "skipped".</summary>
    public required string Status { get; init; }
    public string? Reason { get; init; }
    public string? Subset { get; init; }
    /// <summary>Size after EXIF orientation.</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int[]? Bucket { get; init; }
    public int? Repeats { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    /// <summary>"file" when a caption file was read, "class_tokens" when the subset's class tokens stand in.</summary>
    public string? CaptionSource { get; init; }
    public string? Sha256 { get; init; }
}

/// <summary>kohya's real epoch length beside the colab's estimate (docs/kohya-compatibility.md, "Step arithmetic").</summary>
public sealed record StepsPerEpoch
{
    public required int BatchSize { get; init; }
    /// <summary>Σ over buckets of ceil(images × repeats ÷ batch): batches never mix buckets.</summary>
    public required int Real { get; init; }
    /// <summary>The colab's images × repeats ÷ batch (a float; it ignores buckets).</summary>
    public required double ColabEstimate { get; init; }
    public required IReadOnlyDictionary<string, BucketSteps> PerBucket { get; init; }
}

public sealed record BucketSteps(int Images, int Samples, int Batches);

/// <summary>A subset as processed.</summary>
public sealed record SubsetReport(string Name, string Dir, int NumRepeats, string ClassTokens, int Images, bool FlipAug, bool IsReg);

/// <summary>output/NAME/dataset.json: what the Process stage used and skipped, and why. Ordering is ordinal by path.</summary>
public sealed record DatasetReport
{
    public required string Project { get; init; }
    public required int Resolution { get; init; }
    public required IReadOnlyList<SubsetReport> Subsets { get; init; }
    public required IReadOnlyList<DatasetImageReport> Images { get; init; }
    public required IReadOnlyList<IReadOnlyList<string>> Duplicates { get; init; }
    public required IReadOnlyList<string> OrphanCaptions { get; init; }
    /// <summary>kohya ss_tag_frequency: {subset folder name: {lower-cased tag: count}}.</summary>
    public required IReadOnlyDictionary<string, SortedDictionary<string, int>> TagFrequency { get; init; }
    /// <summary>Used images per bucket, "WxH" → count, ordered by width then height.</summary>
    public required IReadOnlyDictionary<string, int> Buckets { get; init; }
    public required StepsPerEpoch StepsPerEpoch { get; init; }
    public required IReadOnlyList<string> Warnings { get; init; }

    [JsonIgnore] public int UsedCount => Images.Count(i => i.Status == "used");
    [JsonIgnore] public int SkippedCount => Images.Count(i => i.Status == "skipped");

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Writes the report atomically (temp file + rename).</summary>
    public void Write(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var temp = $"{path}.{Environment.ProcessId}-{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, ToJson());
        File.Move(temp, path, overwrite: true);
    }
}
