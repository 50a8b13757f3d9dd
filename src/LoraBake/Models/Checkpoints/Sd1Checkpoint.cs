using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// A Stable Diffusion 1.x single-file checkpoint (.safetensors or .ckpt) split into its three components with
/// diffusers key names: UNet (`down_blocks.0.resnets.0.conv1.weight`...), VAE (`encoder.down_blocks...`) and CLIP
/// text (`text_model.…`, already HF layout). Extra keys (`betas`, `model_ema.*`, `position_ids`...) are ignored.
/// Head counts come from SD1's defaults unless a `NAME.json` sidecar says otherwise. Owns its tensors.
/// </summary>
public sealed class Sd1Checkpoint : IDisposable
{
    public const string UnetPrefix = "model.diffusion_model.";
    public const string VaePrefix = "first_stage_model.";
    public const string TextPrefix = "cond_stage_model.transformer.";
    public const int DefaultUnetHeads = 8;
    public const int DefaultTextHeads = 12;

    public ModelFamily Family => ModelFamily.Sd1;
    public string SourcePath { get; }
    /// <summary>The separate VAE file that replaced the checkpoint's own, if any.</summary>
    public string? VaePath { get; }
    public Dictionary<string, Tensor> UnetStateDict { get; }
    public Dictionary<string, Tensor> VaeStateDict { get; }
    public Dictionary<string, Tensor> TextStateDict { get; }
    public int UnetHeads { get; }
    public int TextHeads { get; }
    /// <summary>The VAE's GroupNorm groups and eps: shapes cannot tell them; sidecar `vae.norm_num_groups`/`norm_eps` or SD's 32 / 1e-6.</summary>
    public int VaeNormGroups { get; }
    public double VaeNormEps { get; }
    /// <summary>dtype of the UNet weights as loaded (the file's own unless a dtype was asked for).</summary>
    public ScalarType DType { get; }
    /// <summary>UNet GroupNorm groups and eps: shapes cannot tell them; SD1's 32 / 1e-5 unless the sidecar says.</summary>
    public int UnetNormGroups => Sidecar?.UnetNormGroups ?? 32;
    public double UnetNormEps => Sidecar?.UnetNormEps ?? 1e-5;
    /// <summary>The sidecar that was applied, if any.</summary>
    public Sd1Sidecar? Sidecar { get; }

    Sd1Checkpoint(string source, string? vaePath, Dictionary<string, Tensor> unet, Dictionary<string, Tensor> vae, Dictionary<string, Tensor> text,
        Sd1Sidecar? sidecar, ScalarType dtype)
    {
        SourcePath = source;
        VaePath = vaePath;
        UnetStateDict = unet;
        VaeStateDict = vae;
        TextStateDict = text;
        Sidecar = sidecar;
        UnetHeads = sidecar?.UnetHeads ?? DefaultUnetHeads;
        TextHeads = sidecar?.TextHeads ?? DefaultTextHeads;
        VaeNormGroups = sidecar?.VaeNormGroups ?? 32;
        VaeNormEps = sidecar?.VaeNormEps ?? 1e-6;
        DType = dtype;
    }

    /// <summary>Opens <paramref name="path"/>; <paramref name="vaePath"/> replaces its VAE; <paramref name="dtype"/> converts every tensor on load.</summary>
    /// <param name="sidecarPath">The architecture sidecar; default: NAME.json next to <paramref name="path"/>.</param>
    public static Sd1Checkpoint Open(string path, string? vaePath = null, ScalarType? dtype = null, string? sidecarPath = null)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: file not found.");
        // A pickle has no index: a .ckpt is loaded once, up front, and judged from its keys.
        Dictionary<string, Tensor>? ckpt = SafetensorsFile.LooksLikeSafetensors(path) ? null : CkptReader.Load(path, dtype);
        var detected = FamilyDetection.Detect(ckpt?.Keys.ToList() ?? SafetensorsFile.Open(path).Keys.ToList());
        if (detected.Family != ModelFamily.Sd1)
        {
            if (ckpt is not null) foreach (var t in ckpt.Values) t.Dispose();
            throw new UserError($"{path}: this looks like {detected.Describe()} (found {detected.Evidence}); LoraBake trains SD 1.x only. " +
                                "Use an SD 1.x base model (e.g. runwayml/stable-diffusion-v1-5 or an anime SD1.5 model) as the recipe's `model:`.");
        }

        bool Wanted(string k) => k.StartsWith(UnetPrefix, StringComparison.Ordinal) || k.StartsWith(TextPrefix, StringComparison.Ordinal) ||
                                 (vaePath is null && k.StartsWith(VaePrefix, StringComparison.Ordinal));
        Dictionary<string, Tensor> all;
        if (ckpt is null) all = LoadStateDict(path, dtype, Wanted);
        else
        {
            all = ckpt.Where(kv => Wanted(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            foreach (var (k, t) in ckpt) if (!Wanted(k)) t.Dispose();
        }
        Dictionary<string, Tensor>? unet = null, vae = null, text = null;
        try
        {
            unet = UnetKeyMap.ToDiffusers(Strip(all, UnetPrefix), path);
            text = TextToHf(Strip(all, TextPrefix));
            if (vaePath is null)
            {
                var ldmVae = Strip(all, VaePrefix);
                if (ldmVae.Count == 0)
                    throw new UserError($"{path}: this checkpoint has no VAE (no first_stage_model.* keys). Set `vae:` in the recipe to a VAE file (e.g. vae-ft-mse-840000-ema-pruned.safetensors).");
                vae = VaeKeyMap.ToDiffusers(ldmVae, path);
            }
            else vae = LoadVae(vaePath, dtype);
            DisposeUnused(all, unet, vae, text);

            var sidecar = sidecarPath is not null && File.Exists(sidecarPath) ? Sd1Sidecar.Read(sidecarPath) : Sd1Sidecar.For(path);
            var result = new Sd1Checkpoint(path, vaePath, unet, vae, text, sidecar, unet.Values.First().dtype);
            result.Validate();
            return result;
        }
        catch
        {
            foreach (var t in all.Values) t.Dispose();
            foreach (var d in new[] { unet, vae, text })
                if (d is not null) foreach (var t in d.Values) t.Dispose();
            throw;
        }
    }

    void Validate()
    {
        var where = Sidecar is null ? $"SD1's default (no {Path.ChangeExtension(SourcePath, ".json")} sidecar)" : $"the sidecar {Sidecar.Path}";
        if (!TextStateDict.TryGetValue("text_model.embeddings.token_embedding.weight", out var tok))
            throw new UserError($"{SourcePath}: the text encoder has no text_model.embeddings.token_embedding.weight; the checkpoint is incomplete.");
        var width = tok.shape[1];
        var toK = UnetStateDict.FirstOrDefault(kv => kv.Key.EndsWith(".attn2.to_k.weight", StringComparison.Ordinal));
        if (toK.Value is null)
            throw new UserError($"{SourcePath}: the UNet has no cross-attention (attn2) weights; this is not a text-conditioned SD 1.x UNet.");
        if (toK.Value.shape[^1] != width)
            throw new UserError($"{SourcePath}: the UNet's cross-attention expects {toK.Value.shape[^1]}-wide text features but the text encoder is {width} wide; " +
                                "the components come from different models.");
        if (width % TextHeads != 0)
            throw new UserError($"{SourcePath}: text width {width} is not divisible by {TextHeads} heads ({where}). Set text_encoder.num_heads in the sidecar.");
        var channels = UnetStateDict["conv_in.weight"].shape[0];
        if (channels % UnetHeads != 0)
            throw new UserError($"{SourcePath}: UNet channels {channels} are not divisible by {UnetHeads} heads ({where}). Set unet.num_heads in the sidecar.");
    }

    /// <summary>Key names of a .safetensors (header only) or .ckpt (loads it: a pickle has no separate index).</summary>
    public static IReadOnlyList<string> ReadKeys(string path)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: file not found.");
        if (SafetensorsFile.LooksLikeSafetensors(path)) return SafetensorsFile.Open(path).Keys.ToList();
        var sd = CkptReader.Load(path);
        var keys = sd.Keys.ToList();
        foreach (var t in sd.Values) t.Dispose();
        return keys;
    }

    /// <summary>Loads a .safetensors or .ckpt state dict, keeping only keys <paramref name="keep"/> accepts.</summary>
    public static Dictionary<string, Tensor> LoadStateDict(string path, ScalarType? dtype = null, Func<string, bool>? keep = null)
    {
        if (SafetensorsFile.LooksLikeSafetensors(path))
        {
            var f = SafetensorsFile.Open(path);
            return f.Load(keep is null ? null : f.Keys.Where(keep), dtype);
        }
        var all = CkptReader.Load(path, dtype);
        if (keep is null) return all;
        foreach (var k in all.Keys.Where(k => !keep(k)).ToList())
        {
            all[k].Dispose();
            all.Remove(k);
        }
        return all;
    }

    /// <summary>A separate VAE file (the recipe's `vae:`): ldm keys with or without `first_stage_model.`, or diffusers keys.</summary>
    public static Dictionary<string, Tensor> LoadVae(string vaePath, ScalarType? dtype = null)
    {
        static bool IsVaeKey(string k)
        {
            var s = k.StartsWith(VaePrefix, StringComparison.Ordinal) ? k[VaePrefix.Length..] : k;
            return s.StartsWith("encoder.", StringComparison.Ordinal) || s.StartsWith("decoder.", StringComparison.Ordinal) ||
                   s.StartsWith("quant_conv.", StringComparison.Ordinal) || s.StartsWith("post_quant_conv.", StringComparison.Ordinal);
        }
        var raw = LoadStateDict(vaePath, dtype, IsVaeKey);
        if (raw.Count == 0)
            throw new UserError($"{vaePath}: no VAE weights found (expected encoder.*/decoder.* keys, optionally under first_stage_model.). Is this a VAE file?");
        var stripped = raw.ToDictionary(kv => kv.Key.StartsWith(VaePrefix, StringComparison.Ordinal) ? kv.Key[VaePrefix.Length..] : kv.Key, kv => kv.Value);
        var result = VaeKeyMap.IsDiffusersLayout(stripped.Keys) ? VaeKeyMap.NormalizeDiffusers(stripped) : VaeKeyMap.ToDiffusers(stripped, vaePath);
        DisposeUnused(raw, result);
        return result;
    }

    /// <summary>The three diffusers-keyed components back in the original single-file layout (shares tensors where it can).</summary>
    public static Dictionary<string, Tensor> ToOriginalLayout(IReadOnlyDictionary<string, Tensor> unet, IReadOnlyDictionary<string, Tensor> vae,
        IReadOnlyDictionary<string, Tensor> text, string source = "(in memory)")
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (k, t) in UnetKeyMap.ToLdm(unet, source)) result[UnetPrefix + k] = t;
        foreach (var (k, t) in VaeKeyMap.ToLdm(vae, source)) result[VaePrefix + k] = t;
        foreach (var (k, t) in text) result[TextPrefix + k] = t;
        return result;
    }

    static Dictionary<string, Tensor> Strip(Dictionary<string, Tensor> all, string prefix) =>
        all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

    static Dictionary<string, Tensor> TextToHf(Dictionary<string, Tensor> text)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (k, t) in text)
        {
            // transformers < 4.?? had no `text_model.` level; position_ids is a buffer, not a weight.
            var name = k.StartsWith("text_model.", StringComparison.Ordinal) ? k : "text_model." + k;
            if (name == "text_model.embeddings.position_ids") continue;
            result[name] = t;
        }
        return result;
    }

    /// <summary>Disposes tensors of <paramref name="source"/> that none of the kept dicts hold (views made by squeeze keep their storage).</summary>
    static void DisposeUnused(Dictionary<string, Tensor> source, params Dictionary<string, Tensor>[] kept)
    {
        var live = new HashSet<Tensor>(kept.SelectMany(d => d.Values), ReferenceEqualityComparer.Instance);
        foreach (var t in source.Values)
            if (!live.Contains(t)) t.Dispose();
    }

    public void Dispose()
    {
        foreach (var d in new[] { UnetStateDict, VaeStateDict, TextStateDict })
        {
            foreach (var t in d.Values) t.Dispose();
            d.Clear();
        }
    }
}
