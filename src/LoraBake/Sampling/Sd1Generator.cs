using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// webui-style txt2img on a loaded <see cref="Sd1Model"/>: prompts through <see cref="WebuiPromptEncoder"/>
/// (attention weights, 75-token chunks, clip skip; cond and uncond padded to the same chunk count), the UNet
/// sampled by <see cref="TextToImage"/> with seed-exact diffusers noise, the VAE decode to RGB. LoRA files
/// (from the request and from <c>&lt;lora:…&gt;</c> tags) act only during one render; loaded files are kept
/// for the next. The seeds of one setting can share a UNet batch (<see cref="GenerateSeeds"/>); prompt encodings
/// are kept for later renders (<see cref="TextEncodingCache"/>). Does not own the model.
/// </summary>
public sealed class Sd1Generator : IDisposable
{
    readonly Sd1Model _model;
    readonly WebuiPromptEncoder _encoder;
    readonly UNetNoisePredictor _unet;
    readonly LoraCache _loras;
    readonly TextEncodingCache _encodings = new();

    public Sd1Generator(Sd1Model model, LoraApplyMode loraMode = LoraApplyMode.Merge)
    {
        _model = model;
        _encoder = new WebuiPromptEncoder(model.Tokenizer, model.TextEncoder);
        _unet = new UNetNoisePredictor(model.Unet);
        _loras = new LoraCache(model);
        LoraMode = loraMode;
    }

    /// <summary>
    /// How LoRA files are applied during a render (the model is unchanged after each either way). Merge is the
    /// default: on the demo model (256×256, 12 steps) a 6-strength grid took ~10–15% less CPU than hooks,
    /// and the gap grows with steps and resolution since hooks add two rank-r matmuls per layer per step.
    /// </summary>
    public LoraApplyMode LoraMode { get; set; }

    /// <summary>Where <c>&lt;lora:NAME:…&gt;</c> looks for NAME.safetensors, in order. Default: the current folder.</summary>
    public IReadOnlyList<string> LoraSearchFolders { get; set; } = ["."];

    /// <summary>Renders one image. <paramref name="onStep"/> gets (step index, step count) after each sampler step.</summary>
    public Image<Rgb24> Generate(GenerateRequest request, Action<int, int>? onStep = null) =>
        GenerateSeeds(request, [request.Seed], onStep)[0];

    /// <summary>
    /// Renders <paramref name="request"/> once per seed (its own <see cref="GenerateRequest.Seed"/> is not used), the
    /// seeds as one UNet batch ([2·S] with CFG). Each image draws its initial and ancestral noise from its own
    /// generator, exactly as its single render does, and is decoded alone, so it equals that render up to float
    /// rounding of the batched UNet. Throws <see cref="NonFiniteImageException"/> if any image is not finite.
    /// The caller disposes the images.
    /// </summary>
    public IReadOnlyList<Image<Rgb24>> GenerateSeeds(GenerateRequest request, IReadOnlyList<long> seeds, Action<int, int>? onStep = null)
    {
        // No dispose scope around Render: LoRA networks it loads for the first time are kept by the cache.
        var decoded = Render(request, seeds, onStep);
        var images = new List<Image<Rgb24>>();
        try
        {
            foreach (var d in decoded) images.Add(ImageConversion.ToImages(d)[0]);
            return images;
        }
        catch
        {
            foreach (var image in images) image.Dispose();
            throw;
        }
        finally
        {
            foreach (var d in decoded) d.Dispose();
        }
    }

    /// <summary>
    /// The decoded images, one [1, 3, H, W] tensor in [−1, 1] per seed, on the model's device. On the meta device
    /// (the plumbing test) the non-finite checks are skipped: there are no values to check.
    /// </summary>
    internal IReadOnlyList<Tensor> Render(GenerateRequest request, IReadOnlyList<long> seeds, Action<int, int>? onStep = null)
    {
        if (seeds.Count == 0) throw new ArgumentException("at least one seed is needed", nameof(seeds));
        var (prompt, loras) = Resolve(request);
        var sampler = SamplerRegistry.Create(request.Sampler);
        int layers = _model.TextEncoder.NumLayers;
        if (request.ClipSkip < 1 || request.ClipSkip > layers)
            throw new UserError($"clip skip {request.ClipSkip} is not possible for {_model.CheckpointPath}: its text encoder has {layers} layers, so use 1..{layers} (1 = last layer, 2 is usual for anime models).");
        var settings = new TextToImageSettings(request.Width, request.Height, request.Steps, request.Cfg, seeds[0], Seeds: seeds);
        var device = _model.Device;
        bool readable = device.type != DeviceType.META;

        using var quiet = GcQuietRegion.Enter(); // TorchSharp's temporary Scalars must outlive their native calls
        using var trusted = Numerics.GuardedConv.TrustPassedForwards();
        using var applied = _loras.Apply(loras, LoraMode);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (cond, uncond) = _encodings.GetOrEncode(
            TextEncodingCache.Key(prompt, request.NegativePrompt, request.ClipSkip, LoraMode, loras),
            () => Encode(prompt, request.NegativePrompt, request.ClipSkip, device));
        var latents = TextToImage.Generate(_unet, sampler, cond, uncond, settings, device, onStep);
        var decoded = new List<Tensor>();
        for (int i = 0; i < seeds.Count; i++)
        {
            var one = request with { Seed = seeds[i] };
            var latent = latents.narrow(0, i, 1);
            if (readable && !latent.isfinite().all().item<bool>()) throw new NonFiniteImageException("latents", one, loras.Count > 0);
            // One image at a time through the VAE, as its single render: a batched decode saves little on a CPU.
            var image = ImageConversion.DecodeLatents(latent, _model.Vae.Decode);
            if (readable && !image.isfinite().all().item<bool>()) throw new NonFiniteImageException("decoded pixels", one, loras.Count > 0);
            decoded.Add(image);
        }
        foreach (var d in decoded) d.MoveToOuterDisposeScope();
        return decoded;
    }

    /// <summary>
    /// Until the result is disposed, merged LoRAs stay merged between consecutive renders with the same files and
    /// strengths (a grid orders its renders so they are adjacent); a render with others, or the end of the scope,
    /// restores the base weights exactly first.
    /// </summary>
    public IDisposable KeepLorasMerged() => _loras.KeepMerged();

    (Tensor Cond, Tensor Uncond) Encode(string prompt, string negative, int clipSkip, Device device)
    {
        var cond = _encoder.Encode([prompt], clipSkip, device).to(ScalarType.Float32);
        var uncond = _encoder.Encode([negative], clipSkip, device).to(ScalarType.Float32);
        if (cond.shape[1] == uncond.shape[1]) return (cond, uncond);
        var empty = _encoder.Encode([""], clipSkip, device).to(ScalarType.Float32);
        return WebuiPromptEncoder.PadToSameLength(cond, uncond, empty);
    }

    /// <summary>The prompt text to encode (LoRA tags removed) and every LoRA of the request, files resolved.</summary>
    public (string Prompt, IReadOnlyList<LoraReference> Loras) Resolve(GenerateRequest request)
    {
        var (prompt, tags) = LoraPromptSyntax.Extract(request.Prompt);
        var fromTags = LoraPromptSyntax.Resolve(tags, LoraSearchFolders);
        foreach (var l in request.Loras)
            if (!File.Exists(l.Path))
                throw new UserError($"{l.Path}: LoRA file not found. Check the path given to --lora (folder and .safetensors name).");
        return (prompt, [.. request.Loras, .. fromTags]);
    }

    /// <summary>
    /// webui's infotext for the request: the prompt as given plus a <c>&lt;lora:NAME:W&gt;</c> tag for each
    /// LoRA passed outside it (so pasting it into webui reproduces the render), "Clip skip" when above 1 and
    /// "Lora hashes" (NAME: 12-digit additional-networks hash) when LoRAs are used.
    /// </summary>
    public GenerationParameters Parameters(GenerateRequest request, string? modelName, string? modelHash)
    {
        var (_, loras) = Resolve(request);
        var (_, tags) = LoraPromptSyntax.Extract(request.Prompt);
        string prompt = request.Prompt;
        foreach (var l in request.Loras)
            prompt += " " + LoraPromptSyntax.Format(Path.GetFileNameWithoutExtension(l.Path), l.TextEncoderWeight, l.UnetWeight);

        var extra = new List<KeyValuePair<string, string>>();
        if (request.ClipSkip > 1) extra.Add(new("Clip skip", request.ClipSkip.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var names = request.Loras.Select(l => Path.GetFileNameWithoutExtension(l.Path)).Concat(tags.Select(t => t.Name)).ToList();
        var hashes = names.Zip(loras, (name, l) => (Name: name.Replace(":", "").Replace(",", ""), Hash: WebuiHashes.LoraHash(l.Path)))
            .DistinctBy(h => h.Name).Select(h => $"{h.Name}: {h.Hash}").ToList();
        if (hashes.Count > 0) extra.Add(new("Lora hashes", string.Join(", ", hashes)));

        string sampler = SamplerRegistry.Create(request.Sampler).Name;
        return new GenerationParameters(prompt, request.NegativePrompt, request.Steps, sampler, request.Cfg, request.Seed,
            request.Width, request.Height, modelHash, modelName, extra.Count > 0 ? extra : null);
    }

    /// <summary>webui's <c>parameters</c> text for the request (<see cref="Parameters"/> as infotext).</summary>
    public string Infotext(GenerateRequest request, string? modelName, string? modelHash) =>
        Parameters(request, modelName, modelHash).ToInfotext();

    /// <summary>How many LoRA files were read from disk so far (a file already loaded is reused).</summary>
    public int LoraFileLoads => _loras.FileLoads;

    /// <summary>How many times LoRA weights were merged into the model.</summary>
    public int LoraMerges => _loras.Merges;

    /// <summary>How many prompt pairs went through the text encoder (the rest came from the cache).</summary>
    public int TextEncodings => _encodings.Misses;

    /// <summary>Releases the loaded LoRA networks and cached encodings (the model stays with its owner).</summary>
    public void Dispose()
    {
        _encodings.Dispose();
        _loras.Dispose();
    }
}
