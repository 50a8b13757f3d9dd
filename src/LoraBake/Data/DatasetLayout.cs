namespace LoraBake.Data;

/// <summary>One source file in the dataset folder, with its path relative to that folder (forward slashes).</summary>
public sealed record DatasetFile(string RelativePath, string FullPath, long Length, DateTime LastWriteUtc);

/// <summary>A file the dataset does not use, and why.</summary>
public sealed record SkippedFile(string RelativePath, string Reason);

/// <summary>
/// One subset (kohya [[datasets.subsets]]): a folder of images sharing repeats, class tokens and caption
/// options. <see cref="Name"/> is the folder's own name, the key kohya uses in ss_tag_frequency.
/// </summary>
public sealed record DatasetSubset
{
    public required string Name { get; init; }
    /// <summary>The folder relative to the dataset folder ("" for the dataset folder itself).</summary>
    public required string RelativeDir { get; init; }
    public required int NumRepeats { get; init; }
    /// <summary>The caption used for images without a caption file.</summary>
    public required string ClassTokens { get; init; }
    public required string CaptionExtension { get; init; }
    public required bool FlipAug { get; init; }
    public required bool ShuffleTags { get; init; }
    public required int ActivationTags { get; init; }
    public bool IsReg { get; init; }
    public required IReadOnlyList<DatasetFile> Images { get; init; }
    /// <summary>Caption file per image path (RelativePath → caption file), when one exists.</summary>
    public required IReadOnlyDictionary<string, DatasetFile> Captions { get; init; }
}

/// <summary>What discovery found in a dataset folder, in ordinal path order.</summary>
public sealed record DatasetLayout(
    string Root,
    IReadOnlyList<DatasetSubset> Subsets,
    IReadOnlyList<SkippedFile> Skipped,
    IReadOnlyList<string> OrphanCaptions);
