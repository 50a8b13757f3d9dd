using System.Text.Json;

namespace LoraBake.Data;

/// <summary>One training image as the Train stage reads it from index.json in the Process entry.</summary>
public sealed record ProcessedIndexImage
{
    /// <summary>The source path inside the dataset folder (for messages).</summary>
    public required string Path { get; init; }
    public required string Subset { get; init; }
    /// <summary>SHA-256 of the processed PNG, a blob of the store (ArtifactStore.BlobPath).</summary>
    public required string PngSha256 { get; init; }
    public required int[] Bucket { get; init; }
    /// <summary>kohya original_size [w, h] (after EXIF orientation) and crop_ltrb in resized coordinates.</summary>
    public required int[] OriginalSize { get; init; }
    public required int[] CropLtrb { get; init; }
    public required IReadOnlyList<string> Tags { get; init; }
    /// <summary>The caption as written (first line of the file, or the class tokens): what kohya trains when nothing shuffles or drops tags.</summary>
    public string? Caption { get; init; }
    public required int Repeats { get; init; }
    public required bool FlipAug { get; init; }
    public required bool ShuffleTags { get; init; }
    public required int ActivationTags { get; init; }
    public bool IsReg { get; init; }
}

/// <summary>index.json: the processed dataset, in ordinal path order, plus the caption settings training needs.</summary>
public sealed record ProcessedIndex
{
    public const string FileName = "index.json";
    public int Version { get; init; } = 1;
    public required int Resolution { get; init; }
    public required double CaptionDropoutRate { get; init; }
    public required double CaptionTagDropoutRate { get; init; }
    public required IReadOnlyList<ProcessedIndexImage> Images { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, DatasetReport.Json);

    public static ProcessedIndex Read(string path) =>
        JsonSerializer.Deserialize<ProcessedIndex>(File.ReadAllText(path), DatasetReport.Json)
        ?? throw new InvalidDataException($"{path}: empty index");
}
