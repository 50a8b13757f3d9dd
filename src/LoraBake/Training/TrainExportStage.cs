using System.Globalization;
using System.Text.Json;
using LoraBake.Data;
using LoraBake.Download;
using LoraBake.Models.Checkpoints;
using LoraBake.Networks;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Train-Export: turns the epochs' fp32 network states into the files the user keeps — NAME-NN.safetensors
/// every save_every_n_epochs (and the last), the last keep_only_last_n_epochs of them, in save_precision, with
/// kohya's ss_* / modelspec metadata and sshs hashes — plus loss.csv. Kept apart from the epochs so that
/// changing how files are saved never retrains anything. Timestamps in the metadata are written as 0 so
/// that a rebuild gives byte-identical files.
/// </summary>
public sealed class TrainExportStage(IReadOnlyList<TrainEpochStage> epochs) : IStage
{
    public const string StageName = "Train-Export";
    public string Name => StageName;
    public int SchemaVersion => 1;
    public bool ProducesFloatResults => true;
    public IReadOnlyList<string> DependsOn { get; } =
        [StageCatalog.Download, StageCatalog.Process, .. epochs.Select(e => e.Name)];

    public Fingerprint ComputeFingerprint(StageContext context)
    {
        var t = context.Recipe.Training;
        return new FingerprintBuilder(Name, SchemaVersion)
            .Add("output_name", context.Recipe.Name)
            .AddCanonical("save", new { t.SaveEveryNEpochs, t.KeepOnlyLastNEpochs, t.SavePrecision })
            .AddCanonical("recipe", context.Recipe with { Evaluation = new EvaluationSettings() })
            .Build();
    }

    /// <summary>
    /// Epoch numbers whose file is written, as kohya: an intermediate save every save_every_n_epochs (0 = none),
    /// of which save_last_n_epochs = keep_only_last_n_epochs survive (0 = all; kohya deletes epoch
    /// e − every·N after saving e), plus the final epoch, which is always kept.
    /// </summary>
    public static IReadOnlyList<int> KeptEpochs(int total, int saveEvery, int keepLast)
    {
        var intermediate = Enumerable.Range(1, Math.Max(0, total - 1)).Where(e => saveEvery > 0 && e % saveEvery == 0).ToList();
        if (keepLast > 0 && intermediate.Count > keepLast) intermediate = intermediate.GetRange(intermediate.Count - keepLast, keepLast);
        return total > 0 ? [.. intermediate, total] : intermediate;
    }

    public static string FileName(string project, int epoch, int total) =>
        $"{project}-{epoch.ToString(total >= 100 ? "000" : "00", CultureInfo.InvariantCulture)}.safetensors";

    public void Run(StageContext context, EntryWriter output)
    {
        var recipe = context.Recipe;
        var t = recipe.Training;
        var publish = Path.Combine(output.Directory, Materializer.PublishDir);
        Directory.CreateDirectory(publish);
        var info = Info(context);
        var start = KohyaMetadata.Build(info);
        var kept = KeptEpochs(epochs.Count, t.SaveEveryNEpochs, t.KeepOnlyLastNEpochs);
        foreach (var e in kept)
        {
            var name = FileName(recipe.Name, e, epochs.Count);
            var steps = WriteEpochFile(info, start, context.UpstreamDirectory(epochs[e - 1].Name), e, t.SavePrecision, Path.Combine(publish, name));
            context.Log($"{Name}: {name} (epoch {e}, {steps} steps, {t.SavePrecision})");
        }
        if (epochs.Count > 0)
            File.Copy(Path.Combine(context.UpstreamDirectory(epochs[^1].Name), TrainingState.LossFile), Path.Combine(publish, TrainingState.LossFile));
        RemoveStaleExports(context.Layout.OutputDir(context.Project), recipe.Name, kept.Select(e => FileName(recipe.Name, e, epochs.Count)).ToHashSet());
    }

    /// <summary>
    /// Writes one epoch's file exactly as the export does (an epoch preview renders with the same bytes, so the
    /// later Evaluate finds its cells): the epoch's fp32 network in save_precision with kohya's metadata. Returns
    /// the epoch's global step count.
    /// </summary>
    public static int WriteEpochFile(KohyaTrainingInfo info, IReadOnlyDictionary<string, string> start, string epochDir, int epoch, string savePrecision, string path)
    {
        var dtype = savePrecision switch { "fp16" => ScalarType.Float16, "bf16" => ScalarType.BFloat16, _ => ScalarType.Float32 };
        var state = TrainingState.Read(epochDir);
        var weights = SafetensorsFile.Open(Path.Combine(epochDir, TrainingState.NetworkFile)).Load(dtype: dtype);
        KohyaMetadata.Save(path, weights, KohyaMetadata.ForSave(start, info, epoch, state.GlobalStep, savedAt: 0));
        foreach (var w in weights.Values) w.Dispose();
        return state.GlobalStep;
    }

    // keep_only_last_n_epochs: older NAME-NN files from earlier builds of this project leave output/.
    static void RemoveStaleExports(string outputDir, string project, HashSet<string> keep)
    {
        if (!Directory.Exists(outputDir)) return;
        foreach (var f in Directory.EnumerateFiles(outputDir, project + "-*.safetensors"))
        {
            var name = Path.GetFileName(f);
            var number = name[(project.Length + 1)..^".safetensors".Length];
            if (number.Length >= 2 && number.All(char.IsAsciiDigit) && !keep.Contains(name)) File.Delete(f);
        }
    }

    KohyaTrainingInfo Info(StageContext context)
    {
        var processDir = context.UpstreamDirectory(StageCatalog.Process);
        var index = ProcessedIndex.Read(Path.Combine(processDir, ProcessedIndex.FileName));
        var report = JsonSerializer.Deserialize<DatasetReport>(
            File.ReadAllText(Path.Combine(processDir, Materializer.PublishDir, "dataset.json")), DatasetReport.Json)!;
        var model = DownloadedModel.Load(context.UpstreamDirectory(StageCatalog.Download))!;
        var vae = DownloadedModel.Load(context.UpstreamDirectory(StageCatalog.Download), "vae");
        return Info(context.Recipe, index, report, model, vae, SessionId(context));
    }

    /// <summary>
    /// Info as an epoch stage can build it (for its preview): the same inputs the export reads, from the Download
    /// and Process entries every epoch depends on.
    /// </summary>
    public static KohyaTrainingInfo InfoForEpoch(StageContext context, ProcessedIndex index)
    {
        var processDir = context.UpstreamDirectory(StageCatalog.Process);
        var report = JsonSerializer.Deserialize<DatasetReport>(
            File.ReadAllText(Path.Combine(processDir, Materializer.PublishDir, "dataset.json")), DatasetReport.Json)!;
        var downloadDir = context.UpstreamDirectory(StageCatalog.Download);
        return Info(context.Recipe, index, report, DownloadedModel.Load(downloadDir)!, DownloadedModel.Load(downloadDir, "vae"), SessionId(context));
    }

    // kohya's ss_session_id is random; ours comes from the processed dataset's fingerprint, known to every epoch and to
    // the export alike, so a file written for an epoch's preview is byte-identical to the exported one.
    static int SessionId(StageContext context) =>
        (int)(Convert.ToUInt32(context.Upstream[StageCatalog.Process].Fingerprint.Hash[..8], 16) & 0x7FFFFFFF);

    /// <summary>What kohya records about a run (the ss_* metadata), from the recipe, the processed dataset and the model.</summary>
    public static KohyaTrainingInfo Info(Recipe recipe, ProcessedIndex index, DatasetReport report, DownloadedModel model, DownloadedModel? vae, int sessionId)
    {
        var training = recipe.Training;
        var networkSettings = recipe.Network;
        var schedule = new EpochSchedule(index, training);
        var type = networkSettings.LoraType;
        var optimizerArgs = training.OptimizerArgs.Count > 0 ? "(" + string.Join(",", training.OptimizerArgs) + ")" : "()";
        var subsets = report.Subsets.Select(s => new KohyaSubsetInfo(
            Path.GetFileName(s.Dir.TrimEnd('/')) is { Length: > 0 } d ? d : s.Name, s.Images, s.NumRepeats, s.FlipAug,
            recipe.Dataset.ShuffleTags, recipe.Dataset.ActivationTags, ClassTokens: s.ClassTokens, IsReg: s.IsReg)).ToList();
        var dataset = new KohyaDatasetInfo(training.TrainBatchSize, recipe.Dataset.Resolution, recipe.Dataset.Resolution, recipe.Dataset.EnableBucket,
            recipe.Dataset.EffectiveMinBucketReso, recipe.Dataset.EffectiveMaxBucketReso, subsets,
            report.TagFrequency.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, int>)kv.Value),
            report.StepsPerEpoch.PerBucket.Select(kv => kv.Key.Split('x')).Zip(report.StepsPerEpoch.PerBucket.Values)
                .Select(p => new KohyaBucket(int.Parse(p.First[0], CultureInfo.InvariantCulture), int.Parse(p.First[1], CultureInfo.InvariantCulture), p.Second.Samples)).ToList());
        return new KohyaTrainingInfo
        {
            OutputName = recipe.Name, NetworkType = type, NetworkDim = networkSettings.NetworkDim, NetworkAlpha = networkSettings.NetworkAlpha,
            ConvDim = type == NetworkType.LoRA ? null : networkSettings.ConvDim, ConvAlpha = type == NetworkType.LoRA ? null : networkSettings.ConvAlpha,
            LearningRate = training.UnetLr, UnetLr = training.UnetLr, TextEncoderLr = training.TextEncoderLr,
            LrScheduler = training.LrScheduler, LrWarmupSteps = schedule.WarmupSteps,
            Optimizer = OptimizerFactory.KohyaClassName(training.Optimizer) + optimizerArgs,
            NumEpochs = schedule.Epochs, MaxTrainSteps = schedule.TotalSteps, NumBatchesPerEpoch = schedule.StepsPerEpoch,
            Dataset = dataset, Seed = training.Seed, TrainingStartedAt = 0, SessionId = sessionId,
            ClipSkip = training.ClipSkip, MaxTokenLength = training.MaxTokenLength == 75 ? null : training.MaxTokenLength,
            MixedPrecision = KohyaMixedPrecision(training.MixedPrecision), GradientCheckpointing = training.GradientCheckpointing, NoiseOffset = training.NoiseOffset > 0 ? training.NoiseOffset : null, MinSnrGamma = training.MinSnrGamma,
            MaxGradNorm = training.MaxGradNorm, PriorLossWeight = training.PriorLossWeight, CaptionDropoutRate = recipe.Dataset.CaptionDropoutRate, CaptionTagDropoutRate = recipe.Dataset.CaptionTagDropoutRate,
            ImplementationVersion = "lorabake/" + FingerprintBuilder.LoraBakeVersion,
            SdModelName = model.FileName, NewSdModelHash = model.Sha256, VaeName = vae?.FileName, NewVaeHash = vae?.Sha256,
        };
    }

    /// <summary>
    /// ss_mixed_precision in kohya's words (accelerate's no / fp16 / bf16): the dtype the frozen model computes
    /// in. auto is decided per machine (AutoPrecision); fp32 is what kohya calls "no".
    /// </summary>
    public static string KohyaMixedPrecision(string mixedPrecision) => TrainEpochStage.FrozenDtype(mixedPrecision) switch
    {
        ScalarType.Float16 => "fp16",
        ScalarType.BFloat16 => "bf16",
        _ => "no",
    };
}

