namespace LoraBake.Networks;

/// <summary>One image folder of a dataset (sd-scripts' subset), as recorded in <c>ss_datasets</c>.</summary>
public sealed record KohyaSubsetInfo(
    string ImageDir,
    int ImgCount,
    int NumRepeats,
    bool FlipAug = false,
    bool ShuffleCaption = true,
    int KeepTokens = 0,
    bool ColorAug = false,
    bool RandomCrop = false,
    string? ClassTokens = null,
    bool IsReg = false,
    string? KeepTokensSeparator = "",
    string? SecondarySeparator = null,
    bool EnableWildcard = false,
    string? CaptionPrefix = null,
    string? CaptionSuffix = null);

/// <summary>A bucket of the aspect-ratio bucketing: resolution and image count (with repeats).</summary>
public sealed record KohyaBucket(int Width, int Height, int Count);

/// <summary>One dataset (the colab writes exactly one), as recorded in <c>ss_datasets</c>.</summary>
public sealed record KohyaDatasetInfo(
    int BatchSizePerDevice,
    int ResolutionWidth,
    int ResolutionHeight,
    bool EnableBucket,
    int MinBucketReso,
    int MaxBucketReso,
    IReadOnlyList<KohyaSubsetInfo> Subsets,
    /// <summary>Folder basename → lower-cased tag → count (sd-scripts <c>tag_frequency</c>).</summary>
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> TagFrequency,
    IReadOnlyList<KohyaBucket>? Buckets = null,
    double? MeanImgArError = null)
{
    public int NumTrainImages => Subsets.Where(s => !s.IsReg).Sum(s => s.ImgCount * s.NumRepeats);
    public int NumRegImages => Subsets.Where(s => s.IsReg).Sum(s => s.ImgCount * s.NumRepeats);
}

/// <summary>
/// What a training run records in a kohya LoRA file's <c>ss_*</c> / <c>modelspec.*</c> metadata.
/// Defaults are sd-scripts' / the colab's. Optional values that are <c>None</c> in Python are null here.
/// </summary>
public sealed record KohyaTrainingInfo
{
    public required string OutputName { get; init; }
    public required NetworkType NetworkType { get; init; }
    public required int NetworkDim { get; init; }
    public required double NetworkAlpha { get; init; }
    public int? ConvDim { get; init; }
    public double? ConvAlpha { get; init; }
    public required double LearningRate { get; init; }
    public double? UnetLr { get; init; }
    public double? TextEncoderLr { get; init; }
    /// <summary>kohya's lr_scheduler name, e.g. "cosine_with_restarts".</summary>
    public required string LrScheduler { get; init; }
    public int LrWarmupSteps { get; init; }
    /// <summary><see cref="Training.NetworkOptimizer.Description"/>, e.g. "torch.optim.adamw.AdamW(weight_decay=0.1)".</summary>
    public required string Optimizer { get; init; }
    public required int NumEpochs { get; init; }
    public required int MaxTrainSteps { get; init; }
    public required int NumBatchesPerEpoch { get; init; }
    public required KohyaDatasetInfo Dataset { get; init; }
    public required long Seed { get; init; }
    /// <summary>Unix time (seconds, fractional) when training started.</summary>
    public required double TrainingStartedAt { get; init; }
    public required int SessionId { get; init; }
    public int? ClipSkip { get; init; }
    public int? MaxTokenLength { get; init; } = 225;
    public string MixedPrecision { get; init; } = "fp16";
    public bool FullFp16 { get; init; }
    public bool GradientCheckpointing { get; init; }
    public int GradientAccumulationSteps { get; init; } = 1;
    public bool CacheLatents { get; init; } = true;
    public double? NoiseOffset { get; init; }
    public double? MinSnrGamma { get; init; }
    public double? MaxGradNorm { get; init; } = 1.0;
    public double CaptionDropoutRate { get; init; }
    public int CaptionDropoutEveryNEpochs { get; init; }
    public double CaptionTagDropoutRate { get; init; }
    public double PriorLossWeight { get; init; } = 1.0;
    public string LossType { get; init; } = "l2";
    public bool VParameterization { get; init; }
    public string? TrainingComment { get; init; }
    /// <summary>Our build, recorded where sd-scripts records its git commit.</summary>
    public string ImplementationVersion { get; init; } = "lorabake";
    /// <summary>Base checkpoint file name (basename) and its hashes.</summary>
    public string? SdModelName { get; init; }
    /// <summary>8 hex: SHA-256 of 64 KiB at 1 MiB of the checkpoint (sd-scripts <c>model_hash</c>).</summary>
    public string? SdModelHash { get; init; }
    /// <summary>Full SHA-256 of the checkpoint file.</summary>
    public string? NewSdModelHash { get; init; }
    public string? VaeName { get; init; }
    public string? VaeHash { get; init; }
    public string? NewVaeHash { get; init; }
    /// <summary>modelspec.title; defaults to the output name.</summary>
    public string? Title { get; init; }
}
