using System.Diagnostics;
using System.Globalization;
using System.Text;
using LoraBake.Data;
using LoraBake.Diffusion;
using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Models.Vae;
using LoraBake.Networks;
using LoraBake.Numerics;
using LoraBake.Recipes;
using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>What one epoch needs besides the model: the data, the schedule, where the last epoch left off.</summary>
/// <param name="ContinueFromLora">continue_from_lora resolved against the project folder (epoch 1 starts from it); null = from zero.</param>
public sealed record EpochInputs(
    Recipe Recipe, ProcessedIndex Index, EpochSchedule Schedule, int Epoch, string? PreviousStateDir, LatentCache Latents,
    string? ContinueFromLora = null);

/// <summary>
/// Trains one epoch of a LoRA/LoCon/LoHa network on a frozen SD 1.x model, kohya's step (docs/kohya-compatibility.md, "Training step math"):
/// cached latents × 0.18215, ε ~ N(0, I) plus noise_offset, t ~ U{0..999}, x_t = √ᾱ x₀ + √(1−ᾱ) ε, ε-prediction
/// L2 loss per sample, min-SNR-γ weights, max_grad_norm clipping, one LR-scheduler step per optimizer step.
/// Every random draw comes from generators keyed by (seed, epoch), so an epoch re-run after a crash is
/// bit-identical to the uninterrupted one.
/// </summary>
public sealed class EpochTrainer(Sd1Model model, Action<string> log)
{
    public sealed record Result(TrainingState State, double MeanLoss, TimeSpan Elapsed, int Steps);

    public Result Run(EpochInputs input, string outputDir)
    {
        var (recipe, index, schedule, epoch) = (input.Recipe, input.Index, input.Schedule, input.Epoch);
        var training = recipe.Training;
        var networkSettings = recipe.Network;
        bool trainText = training.TextEncoderLr > 0;

        // The network's initial weights (kaiming-uniform lora_down) come from torch's global generator: seed it, as
        // sd-scripts' set_seed does, so epoch 1 starts from the same weights in every process.
        torch.manual_seed(training.Seed);
        using var network = LoraNetwork.Create(model.Unet, trainText ? model.TextEncoder : null, networkSettings.LoraType,
            networkSettings.NetworkDim, networkSettings.NetworkAlpha, networkSettings.ConvDim, networkSettings.ConvAlpha);
        var groups = network.ParamGroups(training.UnetLr, trainText ? training.TextEncoderLr : 0, training.UnetLr);
        using var optimizer = OptimizerFactory.Create(training.Optimizer, groups, new OptimizerArgs(training.OptimizerArgs), log);

        int globalStep = 0;
        var loss = new StringBuilder(LossHeader);
        if (input.PreviousStateDir is { } prev)
        {
            var previous = TrainingState.Read(prev);
            globalStep = previous.GlobalStep;
            var weights = TrainingState.ReadNetwork(prev);
            network.Load(weights, Path.Combine(prev, TrainingState.NetworkFile));
            foreach (var w in weights.Values) w.Dispose();
            var (tensors, json) = TrainingState.ReadOptimizer(prev);
            optimizer.LoadState(tensors, json);
            foreach (var w in tensors.Values) w.Dispose();
            loss.Clear().Append(TrainingState.ReadLoss(prev));
        }
        else if (input.ContinueFromLora is { } lora)
        {
            var weights = Models.Checkpoints.SafetensorsFile.Open(lora).Load(dtype: ScalarType.Float32);
            network.Load(weights, lora);
            foreach (var w in weights.Values) w.Dispose();
        }

        // Every finite step loss of the run so far (from the loss log of earlier epochs): tells a climbing loss from broken numbers.
        var history = loss.ToString().Split('\n').Skip(1).Select(l => l.Split(','))
            .Where(f => f.Length > 2 && double.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            .Select(f => double.Parse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
        var batches = schedule.BatchesOf(epoch);
        var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
        var parameters = groups.SelectMany(g => g.Params).ToList();
        using var generator = new Generator(EpochSeed(training.Seed, epoch));
        var clock = Stopwatch.StartNew();
        double sum = 0, ema = double.NaN;
        int done = 0;
        if (trainText) model.TextEncoder.train(); else model.TextEncoder.eval();
        model.Unet.train();
        model.Unet.GradientCheckpointing = training.GradientCheckpointing;

        var scaler = DynamicLossScaler.Needed(model.Device, model.FrozenDtype) ? new DynamicLossScaler() : null;
        foreach (var batch in batches)
        {
            using var quiet = Runtime.GcQuietRegion.Enter(); // TorchSharp's temporary Scalars must outlive their native calls
            using var scope = NewDisposeScope();
            optimizer.SetLrMultiplier(schedule.Lr.Multiplier(globalStep));

            var latents = stack(batch.Samples.Select(s => input.Latents.Get(index.Images[s.ImageIndex].PngSha256, Flip(s, epoch, training.Seed, index))).ToArray());
            var captions = batch.Samples.Select(s => Caption(index, s, epoch, training.Seed)).ToList();
            var isReg = batch.Samples.Select(s => index.Images[s.ImageIndex].IsReg).ToList();
            var step = Step(network, optimizer, parameters, encoder, new StepBatch(latents, captions, isReg), training, generator, scaler,
                (pass, value, broken) => NonFiniteTraining.Error(pass, value, epoch, globalStep + 1, history, broken, training.UnetLr));
            double value = step.Loss;
            history.Add(value);

            double lrUnet = groups.FirstOrDefault(g => g.Name == "unet")?.Lr ?? 0;
            double lrText = groups.FirstOrDefault(g => g.Name == "text_encoder")?.Lr ?? 0;
            loss.Append(string.Create(CultureInfo.InvariantCulture, $"{globalStep + 1},{epoch},{value:R},{lrUnet:R},{lrText:R},{string.Join(' ', step.Timesteps)}\n"));
            globalStep++;
            done++;
            sum += value;
            ema = double.IsNaN(ema) ? value : 0.9 * ema + 0.1 * value;
            Report(epoch, schedule, done, batches.Count, ema, lrUnet, clock.Elapsed);
        }
        if (scaler is { SkippedSteps: > 0 }) log($"epoch {epoch}: fp16 loss scaling skipped {scaler.SkippedSteps} step(s) on overflow; scale now {scaler.Scale}");

        var state = new TrainingState(epoch, globalStep);
        var net = network.StateDict(ScalarType.Float32);
        TrainingState.Save(outputDir, state, net, optimizer.SaveState(), loss.ToString());
        foreach (var x in net.Values) x.Dispose();
        network.Remove();
        return new Result(state, done > 0 ? sum / done : double.NaN, clock.Elapsed, done);
    }

    /// <summary>One batch: cached latents (CPU, unscaled), captions, and which images are regularization images.</summary>
    internal sealed record StepBatch(Tensor Latents, IReadOnlyList<string> Captions, IReadOnlyList<bool> IsReg);

    /// <summary>The loss (NaN where the device cannot be read, i.e. meta) and the batch's timesteps.</summary>
    internal sealed record StepResult(double Loss, long[] Timesteps);

    /// <summary>
    /// One optimizer step, on the model's device: noise and timesteps are drawn from the CPU generator (the same
    /// numbers on every device) and moved; forward, per-sample loss, backward (scaled when fp16 on CUDA), the
    /// non-finite checks, clipping and the step. On the meta device nothing can be read back, so the loss is NaN
    /// and the finiteness checks are skipped; every tensor still has to be on the model's device.
    /// </summary>
    internal StepResult Step(LoraNetwork network, NetworkOptimizer optimizer, IReadOnlyList<TorchSharp.Modules.Parameter> parameters, PromptEncoder encoder,
        StepBatch batch, TrainingSettings training, Generator generator, DynamicLossScaler? scaler,
        Func<NonFiniteTraining.Pass, double, string?, Exception> nonFinite)
    {
        var device = model.Device;
        bool readable = device.type != DeviceType.META;
        bool trainText = training.TextEncoderLr > 0;
        var noise = NoiseSchedule.StableDiffusion;

        var latents = batch.Latents.to(device).mul(AutoencoderKL.ScalingFactor);
        Tensor context;
        if (trainText) context = Encode(encoder, batch.Captions, training);
        else using (no_grad()) context = Encode(encoder, batch.Captions, training);

        var eps = randn(latents.shape, generator: generator);
        if (training.NoiseOffset > 0) eps = eps + training.NoiseOffset * randn([latents.shape[0], latents.shape[1], 1, 1], generator: generator);
        var timestepsCpu = randint(0, noise.NumTrainTimesteps, [latents.shape[0]], dtype: ScalarType.Int64, generator: generator);
        eps = eps.to(device);
        var timesteps = timestepsCpu.to(device);
        var noisy = noise.AddNoise(latents, eps, timesteps);

        var pred = model.Unet.forward(noisy, timesteps, context).to(ScalarType.Float32);
        var squared = MetaKernels.IsMeta(pred) ? MetaKernels.SquaredError(pred, eps) : nn.functional.mse_loss(pred, eps, nn.Reduction.None);
        var perSample = squared.mean([1, 2, 3]);
        if (batch.IsReg.Any(r => r) && training.PriorLossWeight != 1.0)
            perSample = perSample * tensor(batch.IsReg.Select(r => r ? (float)training.PriorLossWeight : 1f).ToArray(), device: device);
        if (training.MinSnrGamma is { } gamma) perSample = perSample * MinSnr.Weights(noise, timesteps, gamma);
        var stepLoss = perSample.mean();
        double value = readable ? stepLoss.item<float>() : double.NaN;
        if (readable && !double.IsFinite(value)) throw nonFinite(NonFiniteTraining.Pass.Forward, value, null);
        if (scaler is null)
        {
            stepLoss.backward();
            if (readable && network.Modules.FirstOrDefault(m => m.parameters().Any(p => p.grad is { } g && !g.isfinite().all().item<bool>())) is { } broken)
                throw nonFinite(NonFiniteTraining.Pass.Backward, value, broken.LoraName);
        }
        else
        {
            // fp16 on CUDA: an overflowed scaled gradient skips the step and halves the scale (GradScaler's rule).
            scaler.ScaleLoss(stepLoss).backward();
            if (!scaler.UnscaleAndUpdate(parameters.Select(p => p.grad).OfType<Tensor>()))
            {
                optimizer.ZeroGrad();
                return new StepResult(value, timestepsCpu.data<long>().ToArray());
            }
        }
        // kohya clips only when max_grad_norm is not 0; clip_grad_norm_(…, 0) would zero every gradient.
        if (training.MaxGradNorm > 0) GradientClipping.ClipGradNorm(parameters, training.MaxGradNorm);
        optimizer.Step();
        optimizer.ZeroGrad();
        return new StepResult(value, timestepsCpu.data<long>().ToArray());
    }

    public const string LossHeader = "step,epoch,loss,lr_unet,lr_te,timestep\n";

    // weighted_captions: webui-style (tag:1.2) weights scale the tokens' hidden states, as kohya's encode_tokens_with_weights.
    internal static Tensor Encode(PromptEncoder encoder, IReadOnlyList<string> captions, TrainingSettings training) => training.WeightedCaptions
        ? encoder.EncodeWeighted(captions, training.MaxTokenLength, training.ClipSkip)
        : encoder.Encode(captions, training.MaxTokenLength, training.ClipSkip);

    static ulong EpochSeed(long seed, int epoch) => new DeterministicRng(seed, epoch, 0x6E6F6973 /* "nois" */).NextUInt64() >> 1;

    static bool Flip(TrainingSample s, int epoch, long seed, ProcessedIndex index) =>
        index.Images[s.ImageIndex].FlipAug && new DeterministicRng(seed, epoch, s.SampleId, 0x666C6970 /* "flip" */).NextDouble() < 0.5;

    internal static string Caption(ProcessedIndex index, TrainingSample s, int epoch, long seed)
    {
        var img = index.Images[s.ImageIndex];
        return CaptionBuilder.Build(img.Tags, epoch, s.SampleId,
            new CaptionSettings(img.ActivationTags, img.ShuffleTags, index.CaptionDropoutRate, index.CaptionTagDropoutRate, seed), img.Caption);
    }


    private DateTime _lastReport = DateTime.MinValue;

    // A text bar (not an animated one): the stage log goes to Cake's console and to CI logs alike.
    void Report(int epoch, EpochSchedule schedule, int done, int total, double ema, double lr, TimeSpan elapsed)
    {
        bool last = done == total;
        if (!last && (DateTime.UtcNow - _lastReport).TotalSeconds < 2) return;
        _lastReport = DateTime.UtcNow;
        double perStep = elapsed.TotalSeconds / Math.Max(1, done);
        var epochEta = TimeSpan.FromSeconds(perStep * (total - done));
        int remainingRun = schedule.TotalSteps - ((epoch - 1) * schedule.StepsPerEpoch + done);
        var runEta = TimeSpan.FromSeconds(perStep * Math.Max(0, remainingRun));
        int filled = total > 0 ? done * 20 / total : 20;
        var bar = new string('#', filled) + new string('-', 20 - filled);
        log(string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch}/{schedule.Epochs} [{bar}] step {done}/{total} | {1 / perStep:0.00} it/s | loss {ema:0.0000} | lr {lr:0.###e+0} | eta epoch {epochEta:mm\\:ss}, run {runEta:hh\\:mm\\:ss}"));
    }
}
