using LoraBake.Networks;

namespace LoraBake.Recipes;

// The recipe as C# records: one record per YAML section, property names in the colab's and kohya's own
// words (snake_case in YAML, see RecipeLoader). Defaults are the colab's (docs/kohya-compatibility.md, "Colab settings and defaults") unless noted.
// Records are immutable; the loader fills them from project.yaml after applying `extends:` presets.

/// <summary>A whole recipe: projects/NAME/project.yaml after presets and defaults.</summary>
public sealed record Recipe
{
    /// <summary>The project's name (its folder name); used for output file names (NAME-01.safetensors).</summary>
    public string Name { get; init; } = "";
    /// <summary>The file the recipe came from (for messages); not part of fingerprints.</summary>
    [FingerprintIgnore]
    public string SourcePath { get; init; } = "";
    public ModelSettings Model { get; init; } = new();
    public DatasetSettings Dataset { get; init; } = new();
    public TrainingSettings Training { get; init; } = new();
    public NetworkSettings Network { get; init; } = new();
    public EvaluationSettings Evaluation { get; init; } = new();
}

/// <summary>`model:` — the base checkpoint (colab "training_model" / "optional_custom_training_model_url").</summary>
public sealed record ModelSettings
{
    /// <summary>A preset name (anime, anylora, sd15), `builtin:tiny-sd1`, an http(s) URL, or a local path.</summary>
    public string Source { get; init; } = "anime";
    /// <summary>Expected SHA-256 of the checkpoint (hex); a mismatch is refused.</summary>
    public string? Sha256 { get; init; }
    /// <summary>An optional separate VAE (URL or path), as users pair with "noVae" checkpoints.</summary>
    public string? Vae { get; init; }
    public string? VaeSha256 { get; init; }
    /// <summary>A folder with vocab.json and merges.txt; default: the one stored with the model.</summary>
    public string? Tokenizer { get; init; }
}

/// <summary>`dataset:` — images, captions, buckets (colab "Processing" and "Steps" cells, kohya dataset config).</summary>
public sealed record DatasetSettings
{
    /// <summary>The dataset folder, relative to the project folder.</summary>
    public string Path { get; init; } = "dataset";
    public int Resolution { get; init; } = 512;
    public bool FlipAug { get; init; } = false;
    public bool ShuffleTags { get; init; } = true;
    /// <summary>keep_tokens: how many leading tags stay in front, unshuffled (0–3 in the colab).</summary>
    public int ActivationTags { get; init; } = 1;
    public string CaptionExtension { get; init; } = ".txt";
    public int NumRepeats { get; init; } = 10;
    public bool EnableBucket { get; init; } = true;
    /// <summary>Default 256, or 320 when resolution &gt; 640 (the colab's rule); null = that rule.</summary>
    public int? MinBucketReso { get; init; }
    /// <summary>Default 1024, or 1280 when resolution &gt; 640; null = that rule.</summary>
    public int? MaxBucketReso { get; init; }
    public int BucketResoSteps { get; init; } = 64;
    public bool BucketNoUpscale { get; init; } = false;
    public double CaptionDropoutRate { get; init; } = 0;
    public double CaptionTagDropoutRate { get; init; } = 0;
    /// <summary>Use byte-identical duplicate images more than once.</summary>
    public bool KeepDuplicates { get; init; } = false;
    /// <summary>Turn every skipped file into an error.</summary>
    public bool Strict { get; init; } = false;
    /// <summary>Use symbolic links that lead outside the dataset folder. Not fingerprinted: the files it adds are.</summary>
    [FingerprintIgnore]
    public bool FollowLinks { get; init; } = false;
    /// <summary>Colour transparent pixels are flattened onto (name or #RRGGBB).</summary>
    public string Background { get; init; } = "white";
    /// <summary>Images declaring more pixels than this are refused before decoding.</summary>
    public long MaxImagePixels { get; init; } = 100_000_000;
    /// <summary>Explicit subsets (kohya [[datasets.subsets]]); empty = discover subfolders.</summary>
    public IReadOnlyList<SubsetSettings> Subsets { get; init; } = [];

    public int EffectiveMinBucketReso => MinBucketReso ?? (Resolution > 640 ? 320 : Resolution < 256 ? Resolution : 256);
    public int EffectiveMaxBucketReso => MaxBucketReso ?? (Resolution > 640 ? 1280 : 1024);
}

/// <summary>One explicit subset; unset values inherit from the dataset section.</summary>
public sealed record SubsetSettings
{
    public string Path { get; init; } = "";
    public int? NumRepeats { get; init; }
    public string? ClassTokens { get; init; }
    public string? CaptionExtension { get; init; }
    public bool? FlipAug { get; init; }
    public bool? ShuffleTags { get; init; }
    public int? ActivationTags { get; init; }
    public bool IsReg { get; init; } = false;
}

public enum PreferredUnit { Epochs, Steps }

/// <summary>`training:` — steps, learning rates, optimizer (colab "Steps" and "Learning" cells).</summary>
public sealed record TrainingSettings
{
    public PreferredUnit PreferredUnit { get; init; } = PreferredUnit.Epochs;
    public int HowMany { get; init; } = 10;
    public int SaveEveryNEpochs { get; init; } = 1;
    public int KeepOnlyLastNEpochs { get; init; } = 10;
    public int TrainBatchSize { get; init; } = 2;
    public double UnetLr { get; init; } = 5e-4;
    public double TextEncoderLr { get; init; } = 1e-4;
    /// <summary>constant, constant_with_warmup, cosine, cosine_with_restarts, linear, polynomial.</summary>
    public string LrScheduler { get; init; } = "cosine_with_restarts";
    /// <summary>Restarts for cosine_with_restarts, power for polynomial.</summary>
    public double LrSchedulerNumber { get; init; } = 3;
    public double LrWarmupRatio { get; init; } = 0.05;
    /// <summary>min-SNR-γ; null = off (the colab's checkbox True means 5.0).</summary>
    public double? MinSnrGamma { get; init; } = 5.0;
    public double NoiseOffset { get; init; } = 0;
    public int ClipSkip { get; init; } = 2;
    public int MaxTokenLength { get; init; } = 225;
    public long Seed { get; init; } = 42;
    /// <summary>fp16, bf16 or float: the dtype of the exported network.</summary>
    public string SavePrecision { get; init; } = "fp16";
    /// <summary>Dtype the frozen base weights are held in: auto, fp32, bf16, fp16.</summary>
    public string MixedPrecision { get; init; } = "auto";
    /// <summary>
    /// Recompute each UNet block in backward instead of keeping its activations. The epoch fingerprint names it only
    /// when on, so recipes written before it existed keep their fingerprints.
    /// </summary>
    [FingerprintIgnore]
    public bool GradientCheckpointing { get; init; }
    /// <summary>
    /// auto | cpu | cuda | cuda:N: where the Train and Evaluate stages run the models. The epoch fingerprint names it
    /// only when it resolves to a GPU, so CPU runs (every lock written before it existed) keep their fingerprints.
    /// </summary>
    [FingerprintIgnore]
    public string Device { get; init; } = "auto";
    /// <summary>
    /// auto | onednn | guarded | native: how CPU convolutions run (<see cref="Numerics.ConvRoute"/>). auto takes what
    /// the numerics guard measured right and fastest on this machine; a named route must have passed its self-test.
    /// The epoch fingerprint names it only when it is not auto, so older recipes keep their fingerprints.
    /// </summary>
    [FingerprintIgnore]
    public string ConvRoute { get; init; } = "auto";
    /// <summary>AdamW8bit (colab default), AdamW, Lion, Prodigy, DAdaptAdam, DAdaptLion, AdaFactor, SGDNesterov.</summary>
    public string Optimizer { get; init; } = "AdamW8bit";
    /// <summary>The colab's switch: with Prodigy/DAdapt*, use its learning rates, scheduler, alpha and arguments (<see cref="AdaptiveOptimizerOverride"/>).</summary>
    public bool OverrideValuesForDadaptAndProdigy { get; init; } = true;
    /// <summary>Optimizer arguments as kohya's `key=value` strings (weight_decay=0.1, betas=[0.9,0.99]).</summary>
    public IReadOnlyList<string> OptimizerArgs { get; init; } = [];
    public double MaxGradNorm { get; init; } = 1.0;
    public bool WeightedCaptions { get; init; } = false;
    /// <summary>Loss weight of regularisation (is_reg) images (kohya prior_loss_weight; the colab fixes 1.0).</summary>
    public double PriorLossWeight { get; init; } = 1.0;
    /// <summary>A LoRA to start from (colab "continue_from_lora"), relative to the project folder.</summary>
    public string? ContinueFromLora { get; init; }
}

/// <summary>`network:` — the adapter's structure (colab "Structure" cell).</summary>
public sealed record NetworkSettings
{
    public NetworkType LoraType { get; init; } = NetworkType.LoRA;
    public int NetworkDim { get; init; } = 16;
    public double NetworkAlpha { get; init; } = 8;
    public int ConvDim { get; init; } = 8;
    public double ConvAlpha { get; init; } = 4;
}

/// <summary>`evaluation:` — the X/Y/Z grids rendered after training.</summary>
public sealed record EvaluationSettings
{
    /// <summary>Prompts; `[trigger]` is replaced by the activation tags.</summary>
    public IReadOnlyList<string> Prompts { get; init; } = ["[trigger], solo, looking at viewer"];
    public string NegativePrompt { get; init; } = "lowres, bad anatomy, worst quality, low quality";
    public IReadOnlyList<long> Seeds { get; init; } = [1, 2];
    public string Sampler { get; init; } = "euler_a";
    public int Steps { get; init; } = 20;
    public double Cfg { get; init; } = 7;
    public int Width { get; init; } = 512;
    public int Height { get; init; } = 512;
    /// <summary>"all", "every N", or an explicit list such as "2,4,6".</summary>
    public string Epochs { get; init; } = "all";
    public IReadOnlyList<double> Weights { get; init; } = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
    /// <summary>Optional webui-style axes overriding the defaults: "Prompt S/R: a, b, c".</summary>
    public string? XAxis { get; init; }
    public string? YAxis { get; init; }
    public string? ZAxis { get; init; }
    /// <summary>Render each epoch's cells right after it trains (kohya sample_every_n_epochs), cached for Evaluate.</summary>
    public bool Preview { get; init; } = false;
}
