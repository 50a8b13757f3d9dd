using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoraBake.Data;

/// <summary>
/// The small JSON record kept with each processed image (meta.json in its cache entry): where it came from,
/// its size after EXIF orientation, its bucket and crop (kohya's original_size / crop_ltrb), and the SHA-256
/// of the processed PNG — or why the file could not be used.
/// </summary>
public sealed record ProcessedImageMeta
{
    public required string SourceSha256 { get; init; }
    /// <summary>Set when the file is unusable; the other fields are then absent.</summary>
    public string? Rejected { get; init; }
    public string? Format { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public int[]? Bucket { get; init; }
    public int[]? Resized { get; init; }
    public int[]? CropLtrb { get; init; }
    public string? PngSha256 { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static ProcessedImageMeta? FromJson(string json) => JsonSerializer.Deserialize<ProcessedImageMeta>(json, Json);
}

/// <summary>A freshly processed image: its record and, when usable, the lossless PNG of the bucket-sized RGB image.</summary>
public sealed record ProcessedImage(ProcessedImageMeta Meta, byte[]? Png);
