using System.Diagnostics;
using System.Globalization;
using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Diffusion;
using LoraBake.Networks;
using LoraBake.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.ToyWorld;

/// <summary>
/// The knobs of `lorabake pretrain-toy`. The defaults made builtin:toy-sd1 v3; v4, the shipped one, is v3 trained
/// 6,000 steps more: `pretrain-toy --from v3/toy-sd1.safetensors --vae-steps 0 --steps 6000 --seed 20261203`
/// (v3's UNet drew every object in one average colour; the longer run learnt the prompt's colour words).
/// </summary>
public sealed record ToyPretrainSettings(
    long Seed = 20261202, int VaeSteps = 2500, int VaeBatch = 8, double VaeLr = 2e-3,
    int DiffusionSteps = 4000, int DiffusionBatch = 8, double DiffusionLr = 2e-3, double EmptyCaptionRate = 0.1,
    string? FromSha256 = null);

/// <summary>
/// Pretrains builtin:toy-sd1 from zero with full-weight training (not a LoRA), in two phases, each a loop a reader
/// can hold in their head:
/// <list type="number">
/// <item>VAE: encode → decode the posterior mean of toy-world pictures; loss = MSE(x̂, x) (no sampling and no KL term:
/// with the posterior's initial σ ≈ 1 the decoder saw mostly noise and learnt only the background colour in the
/// time this has; every consumer here uses the mean, as latent caching does). Then the latents are
/// rescaled (an exact reparametrisation of quant_conv and post_quant_conv) so that latents × 0.18215 have unit
/// standard deviation, as SD's do: the trainer and the samplers use the fixed SD scaling factor.</item>
/// <item>UNet + text encoder on the frozen VAE's latents, kohya's ε-prediction step (x_t = √ᾱ x₀ + √(1−ᾱ) ε,
/// t ~ U{0..999}, MSE(ε̂, ε)), with <see cref="ToyPretrainSettings.EmptyCaptionRate"/> of captions emptied so
/// classifier-free guidance works.</item>
/// </list>
/// Diffusion scenes come from <see cref="ToyWorldGenerator.Scene"/> (no pink, no heart); the VAE, an image codec, learns
/// on <see cref="ToyWorldGenerator.CodecScene"/>, which has every colour and shape (a decoder that cannot draw pink could
/// never show a pink LoRA concept);
/// every random draw is from torch generators seeded by <see cref="ToyPretrainSettings.Seed"/>. Optimizer: the
/// project's <see cref="AdamWOptimizer"/> (no weight decay: tokens the world never uses keep their random embedding),
/// linear warm-up over 5% of steps, then cosine decay to 10%.
/// </summary>
public sealed class ToyPretrainer(ToyPretrainSettings settings, Action<string> log)
{
    const int Side = ToySd1.Resolution;

    public sealed record Result(double VaeLoss, double DiffusionLoss, double LatentScale, TimeSpan VaeTime, TimeSpan DiffusionTime);

    /// <summary>
    /// Trains and writes the model into <paramref name="outputDir"/> (checkpoint, sidecar, tokenizer). With
    /// <paramref name="fromCheckpoint"/> (a toy-sd1 checkpoint) training continues from its weights instead of from
    /// zero; with <see cref="ToyPretrainSettings.VaeSteps"/> 0 its VAE is kept as it is (already rescaled).
    /// </summary>
    public Result Run(string outputDir, string? fromCheckpoint = null)
    {
        var s = settings;
        torch.manual_seed(s.Seed);
        var vocab = BuiltinVocabulary.Get().Tokens.Count;
        BuiltinVocabulary.Write(Path.Combine(outputDir, ToySd1.TokenizerFolder));
        var tokenizer = ClipTokenizer.Load(Path.Combine(outputDir, ToySd1.TokenizerFolder));
        var (newText, newUnet, newVae) = fromCheckpoint is null
            ? (new ClipTextModel(ToySd1.TextConfig(vocab)), null, new AutoencoderKL(ToySd1.VaeConfig))
            : Continue(fromCheckpoint);
        using var text = newText;
        using var unet = newUnet ?? new UNet2DConditionModel(ToySd1.UnetConfig(text.Config.HiddenSize));
        using var vae = newVae;
        log($"pretrain-toy: seed {s.Seed}{(fromCheckpoint is null ? "" : $", continuing from {fromCheckpoint}")}; text encoder {Count(text)} parameters, " +
            $"UNet {Count(unet)}, VAE {Count(vae)}; {torch.get_num_threads()} threads");

        var clock = Stopwatch.StartNew();
        double vaeLoss = double.NaN, scale = 1;
        if (s.VaeSteps > 0)
        {
            vaeLoss = TrainVae(vae);
            scale = NormaliseLatents(vae);
        }
        var vaeTime = clock.Elapsed;
        log(string.Create(CultureInfo.InvariantCulture, $"pretrain-toy: VAE done in {vaeTime:mm\\:ss}; latents rescaled ×{scale:0.###}"));

        clock.Restart();
        double diffusionLoss = TrainDiffusion(text, unet, vae, tokenizer);
        var diffusionTime = clock.Elapsed;
        log(string.Create(CultureInfo.InvariantCulture, $"pretrain-toy: UNet + text encoder done in {diffusionTime:mm\\:ss}"));

        foreach (var m in new nn.Module[] { text, unet, vae }) m.eval();
        ToySd1.Save(outputDir, text, unet, vae, new Dictionary<string, string>
        {
            ["lorabake.pretrain"] = System.Text.Json.JsonSerializer.Serialize(s),
        });
        return new Result(vaeLoss, diffusionLoss, scale, vaeTime, diffusionTime);
    }

    /// <summary>The three models of an existing toy checkpoint, fp32; the text encoder and UNet trainable again.</summary>
    static (ClipTextModel, UNet2DConditionModel, AutoencoderKL) Continue(string checkpoint)
    {
        var model = Sd1Model.Load(checkpoint);
        foreach (var m in new nn.Module[] { model.TextEncoder, model.Unet })
            foreach (var p in m.parameters()) p.requires_grad = true;
        return (model.TextEncoder, model.Unet, model.Vae);
    }

    double TrainVae(AutoencoderKL vae)
    {
        var s = settings;
        vae.train();
        var group = new NetworkParamGroup("vae", vae.parameters(), s.VaeLr);
        using var optimizer = new AdamWOptimizer([group], weightDecay: 0);
        using var generator = new Generator((ulong)s.Seed ^ 0x7661650000UL);
        double ema = double.NaN;
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < s.VaeSteps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.SetLrMultiplier(LrMultiplier(step, s.VaeSteps));
            // The VAE is convolutional: it learns on 32×32 crops (at multiples of 8) of the 64×64 scenes, a quarter of the work.
            var full = Images(Enumerable.Range(0, s.VaeBatch).Select(k => ToyWorldGenerator.CodecScene(s.Seed, (long)step * s.VaeBatch + k)).ToList());
            var crop = randint(0, 5, [2], dtype: ScalarType.Int64, generator: generator).data<long>().ToArray();
            var x = full[.., .., (int)(crop[0] * 8)..(int)(crop[0] * 8 + 32), (int)(crop[1] * 8)..(int)(crop[1] * 8 + 32)].contiguous();
            using var posterior = vae.Encode(x);
            var loss = nn.functional.mse_loss(vae.Decode(posterior.Mean), x);
            loss.backward();
            nn.utils.clip_grad_norm_(group.Params, 1.0);
            optimizer.Step();
            optimizer.ZeroGrad();
            ema = Ema(ema, loss.item<float>());
            if ((step + 1) % 25 == 0 || step < 3 || step + 1 == s.VaeSteps) log(string.Create(CultureInfo.InvariantCulture, $"vae step {step + 1}/{s.VaeSteps} loss {ema:0.00000} ({clock.Elapsed.TotalSeconds:0.0} s)"));
        }
        vae.eval();
        foreach (var p in vae.parameters()) p.requires_grad = false;
        return ema;
    }

    /// <summary>Scales the latent space so latents × 0.18215 have unit std: mean rows of quant_conv ×k, post_quant_conv's input ÷k.</summary>
    double NormaliseLatents(AutoencoderKL vae)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = Images(Enumerable.Range(0, 64).Select(k => ToyWorldGenerator.Scene(settings.Seed, 500_000_000L + k)).ToList());
        using var posterior = vae.Encode(x);
        double std = posterior.Mean.std().item<float>();
        double k = 1 / (AutoencoderKL.ScalingFactor * std);
        var sd = vae.state_dict();
        int c = vae.Config.LatentChannels;
        sd["quant_conv.weight"][..c].mul_(k);
        sd["quant_conv.bias"][..c].mul_(k);
        sd["quant_conv.bias"][c..].add_(2 * Math.Log(k)); // logvar: σ scales by k
        sd["post_quant_conv.weight"].div_(k);
        return k;
    }

    double TrainDiffusion(ClipTextModel text, UNet2DConditionModel unet, AutoencoderKL vae, ClipTokenizer tokenizer)
    {
        var s = settings;
        text.train();
        unet.train();
        var groups = new[] { new NetworkParamGroup("unet", unet.parameters(), s.DiffusionLr), new NetworkParamGroup("text_encoder", text.parameters(), s.DiffusionLr) };
        using var optimizer = new AdamWOptimizer(groups, weightDecay: 0);
        var all = groups.SelectMany(g => g.Params).ToList();
        var encoder = new PromptEncoder(tokenizer, text);
        var noise = NoiseSchedule.StableDiffusion;
        using var generator = new Generator((ulong)s.Seed ^ 0x6469660000UL);
        var drop = new Data.DeterministicRng(s.Seed, 0x64726F70 /* "drop" */);
        double ema = double.NaN;
        var clock = Stopwatch.StartNew();
        for (int step = 0; step < s.DiffusionSteps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.SetLrMultiplier(LrMultiplier(step, s.DiffusionSteps));
            var scenes = Enumerable.Range(0, s.DiffusionBatch).Select(k => ToyWorldGenerator.Scene(s.Seed, 1_000_000_000L + (long)step * s.DiffusionBatch + k)).ToList();
            Tensor latents;
            using (no_grad())
            using (var posterior = vae.Encode(Images(scenes)))
                latents = posterior.Mean.mul(AutoencoderKL.ScalingFactor);
            var captions = scenes.Select(sc => drop.NextDouble() < s.EmptyCaptionRate ? "" : sc.Caption).ToList();
            var context = encoder.Encode(captions);
            var eps = randn(latents.shape, generator: generator);
            var timesteps = randint(0, noise.NumTrainTimesteps, [latents.shape[0]], dtype: ScalarType.Int64, generator: generator);
            var noisy = noise.AddNoise(latents, eps, timesteps);
            var loss = nn.functional.mse_loss(unet.forward(noisy, timesteps, context), eps);
            loss.backward();
            nn.utils.clip_grad_norm_(all, 1.0);
            optimizer.Step();
            optimizer.ZeroGrad();
            ema = Ema(ema, loss.item<float>());
            if ((step + 1) % 25 == 0 || step < 3 || step + 1 == s.DiffusionSteps) log(string.Create(CultureInfo.InvariantCulture, $"diffusion step {step + 1}/{s.DiffusionSteps} loss {ema:0.00000} ({clock.Elapsed.TotalSeconds:0.0} s)"));
        }
        text.eval();
        unet.eval();
        return ema;
    }

    /// <summary>Scenes rendered at 64 px as [B, 3, 64, 64] in [-1, 1].</summary>
    static Tensor Images(IReadOnlyList<ToyScene> scenes)
    {
        var bytes = new byte[scenes.Count * Side * Side * 3];
        for (int i = 0; i < scenes.Count; i++) ToyWorldGenerator.RenderBytes(scenes[i], Side).CopyTo(bytes, i * Side * Side * 3);
        using var t = tensor(bytes, [scenes.Count, Side, Side, 3]);
        return t.permute(0, 3, 1, 2).to(ScalarType.Float32).div(127.5).sub(1).contiguous();
    }

    static double LrMultiplier(int step, int total)
    {
        int warmup = Math.Max(1, total / 20);
        if (step < warmup) return (step + 1) / (double)warmup;
        double progress = (step - warmup) / (double)Math.Max(1, total - warmup);
        return 0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    static double Ema(double ema, double value) => double.IsNaN(ema) ? value : 0.98 * ema + 0.02 * value;

    static long Count(nn.Module m) => m.parameters().Sum(p => p.numel());
}
