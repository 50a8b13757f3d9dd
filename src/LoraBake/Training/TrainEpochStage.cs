using LoraBake.Download;
using LoraBake.Numerics;
using System.Globalization;
using LoraBake.Data;
using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Train-Epoch-NN: one epoch as one cached stage. Its fingerprint chains the previous epoch's, the processed
/// dataset's and the base model's (the planner adds those), the training and network settings, and the
/// learning rates of exactly this epoch's steps: extending a constant-LR run reuses the finished epochs,
/// while a cosine run, whose curve depends on the total, starts over. How many epochs there are, how often
/// files are saved and in which precision are not inputs of an epoch: they belong to <see cref="TrainExportStage"/>.
/// </summary>
public sealed class TrainEpochStage(int epoch, int totalEpochs) : IStage
{
    public int Epoch { get; } = epoch;
    public string Name { get; } = StageCatalog.EpochStageName(epoch, totalEpochs);
    public int SchemaVersion => 4;   // 4: the unfold route's columns come from Im2Col, whose gradient (strided adds) sums the kernel taps in another order than col2im; FrozenSameConv (3) is gone
    public bool ProducesFloatResults => true;
    public IReadOnlyList<string> DependsOn { get; } = epoch == 1
        ? [StageCatalog.Download, StageCatalog.Process]
        : [StageCatalog.Download, StageCatalog.Process, StageCatalog.EpochStageName(epoch - 1, totalEpochs)];

    public string? PreviousStage => Epoch == 1 ? null : DependsOn[^1];

    /// <summary>Renders evaluation.preview cells after the epoch; Evaluation sits above Training, so it is handed in.</summary>
    public EpochPreviewRenderer? Preview { get; init; }

    public Fingerprint ComputeFingerprint(StageContext context)
    {
        var t = context.Recipe.Training;
        var fb = new FingerprintBuilder("Train-Epoch", SchemaVersion)
            .Add("epoch", Epoch.ToString(CultureInfo.InvariantCulture))
            .AddCanonical("training", EpochSettings(t))
            .AddCanonical("network", context.Recipe.Network)
            .Add("torch", TorchSharp.torch.__version__);
        // auto resolves per machine, and the two dtypes train different weights.
        if (t.MixedPrecision == "auto") fb.Add("mixed_precision", AutoPrecision.Resolve(t.MixedPrecision));
        // LoRA adapters on half-precision layers compute in that dtype (NetworkModule.DeltaOutputMixed): other bits than
        // the widened fp32 path these epochs used before. fp32 epochs are unchanged. Where bf16 is held but computed in
        // fp32 (this CPU's bf16 math is wrong), everything computes in fp32: other bits than either.
        var precision = Precision(t);
        if (precision.Widened) fb.Add("frozen_math", "fp32, weights held in bf16");
        else if (precision.Storage != TorchSharp.torch.ScalarType.Float32)
        {
            fb.Add("adapter_math", "frozen-dtype");
            // Unfolded convolutions in half precision take their input gradient as one product (Numerics.FrozenConv),
            // rounded once instead of after each kernel tap: other bits than these epochs had before.
            fb.Add("conv_input_gradient", "one product");
        }
        // Recomputed blocks round their weight gradients differently in the last bits.
        if (t.GradientCheckpointing) fb.Add("gradient_checkpointing", "true");
        // A GPU trains different bits than the CPU; the CPU adds nothing, so locks from before the setting stay valid.
        if (Runtime.ComputeDevice.FingerprintComponent(t.Device) is { } device) fb.Add("device", device);
        // A named convolution route rounds differently from auto's pick; auto adds nothing (older locks stay valid).
        if (t.ConvRoute != "auto") fb.Add("conv_route", t.ConvRoute);
        if (TokenizerInput(context.Recipe, context.ProjectDir) is { } tokenizer) fb.Add("input:tokenizer", tokenizer);
        // The starting LoRA by content: replacing the file retrains; by name alone it would be a stale cache hit.
        if (t.ContinueFromLora is { } lora)
            fb.Add("input:continue_from_lora", ContinueFromLora.Resolve(lora, context.ProjectDir, out _) is { } path ? Pipeline.Hashing.Sha256File(path) : "missing");
        // The LR of each step needs the real steps per epoch, known once the dataset is processed. Before
        // that the Process stage is stale, and so is this epoch, whatever this component says.
        var process = context.Upstream.GetValueOrDefault(StageCatalog.Process);
        var indexPath = process?.EntryDirectory is { } dir ? Path.Combine(dir, ProcessedIndex.FileName) : null;
        if (indexPath != null && File.Exists(indexPath))
        {
            var schedule = new EpochSchedule(ProcessedIndex.Read(indexPath), t);
            fb.Add("lr", string.Join(",", schedule.LrMultipliersOf(Epoch).Select(m => m.ToString("R", CultureInfo.InvariantCulture))));
        }
        else fb.Add("lr", "pending: the dataset is not processed yet");
        return fb.Build();
    }

    /// <summary>
    /// model.tokenizer's vocab.json and merges.txt by content (the folder is read by training and evaluation, not
    /// by Download): another tokenizer changes every caption's ids. Null when the recipe sets none.
    /// </summary>
    public static string? TokenizerInput(Recipe recipe, string projectDir)
    {
        if (recipe.Model.Tokenizer is not { } folder) return null;
        var dir = Path.GetFullPath(Path.Combine(projectDir, folder));
        return string.Join(" ", new[] { "vocab.json", "merges.txt" }.Select(f => Path.Combine(dir, f))
            .Select(f => File.Exists(f) ? Pipeline.Hashing.Sha256File(f) : "missing"));
    }

    /// <summary>The training settings an epoch's state depends on (not how many epochs follow, nor export settings).</summary>
    public static object EpochSettings(TrainingSettings t) => t with
    {
        HowMany = 0, PreferredUnit = PreferredUnit.Epochs, SaveEveryNEpochs = 0, KeepOnlyLastNEpochs = 0, SavePrecision = "",
        LrScheduler = "", LrSchedulerNumber = 0, LrWarmupRatio = 0,
    };

    public void Run(StageContext context, EntryWriter output)
    {
        var recipe = context.Recipe;
        var index = ProcessedIndex.Read(Path.Combine(context.UpstreamDirectory(StageCatalog.Process), ProcessedIndex.FileName));
        var schedule = new EpochSchedule(index, recipe.Training);
        var downloadDir = context.UpstreamDirectory(StageCatalog.Download);
        var model = DownloadedModel.Load(downloadDir) ?? throw new InvalidDataException($"{downloadDir}: the Download entry has no model.json");
        var vae = DownloadedModel.Load(downloadDir, "vae");
        string checkpoint = ModelFiles.Checkpoint(model, downloadDir, context.Store);

        context.Log($"{Name}: {NumericsGuard.Current.Summary}");
        if (recipe.Training.MixedPrecision == "auto") context.Log($"{Name}: {AutoPrecision.Current.Summary}");
        context.Log($"{Name}: loading {model.Source} ({model.FileName})");
        var dtype = FrozenDtype(recipe.Training.MixedPrecision);
        var device = Runtime.ComputeDevice.Select(recipe.Training.Device, DeviceSetting);
        context.Log($"{Name}: device {device}; frozen weights {FrozenPrecision.For(dtype, device.type).Describe}");
        using var sd = Sd1Model.Load(checkpoint, vae?.Path(downloadDir, context.Store),
            ModelFiles.TokenizerDir(recipe, context.ProjectDir, checkpoint, downloadDir), dtype,
            ModelFiles.Sidecar(downloadDir), device);
        var latents = new LatentCache(context.Store, LatentCache.VaeKey(model.Sha256, vae?.Sha256), () => sd.Vae);
        var previous = PreviousStage is { } p ? context.UpstreamDirectory(p) : null;

        string? startFrom = null;
        if (Epoch == 1 && recipe.Training.ContinueFromLora is { } lora)
            startFrom = ContinueFromLora.Resolve(lora, context.ProjectDir, out var error) ?? throw new Runtime.UserError($"training.continue_from_lora: {error}");
        var result = new EpochTrainer(sd, context.Log).Run(new EpochInputs(recipe, index, schedule, Epoch, previous, latents, startFrom), output.Directory);
        context.Log(string.Create(CultureInfo.InvariantCulture,
            $"{Name}: {result.Steps} steps in {result.Elapsed.TotalSeconds:0.0}s, mean loss {result.MeanLoss:0.0000} (latents: {latents.Encoded} encoded, {latents.Hits} cached)"));
        // evaluation.preview: this epoch's grid cells now, with the file the export will write (a side effect in the
        // cell store only; the epoch's own outputs are the same with or without it).
        if (recipe.Evaluation.Preview)
            Preview?.Invoke(context, index, output.Directory, Epoch, totalEpochs);
    }

    /// <summary>How errors name the device setting: the recipe key, which the CLI's --device overrides.</summary>
    public const string DeviceSetting = "training.device (or --device)";

    /// <summary>How the frozen base weights are held and computed with on this machine and the recipe's device.</summary>
    public static FrozenPrecision Precision(TrainingSettings t) =>
        FrozenPrecision.For(FrozenDtype(t.MixedPrecision), Runtime.ComputeDevice.FingerprintComponent(t.Device) is null ? TorchSharp.DeviceType.CPU : TorchSharp.DeviceType.CUDA);

    /// <summary>The dtype the frozen base weights are held in; auto is decided per machine (<see cref="AutoPrecision"/>).</summary>
    public static ScalarType FrozenDtype(string mixedPrecision) => mixedPrecision switch
    {
        "bf16" => ScalarType.BFloat16,
        "fp16" => ScalarType.Float16,
        "fp32" => ScalarType.Float32,
        _ => AutoPrecision.Current.Dtype,
    };
}
