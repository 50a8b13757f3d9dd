using System.Text.Json.Serialization;

namespace LoraBake.Models.Checkpoints;

/// <summary>What a weights file holds, judged from its key names.</summary>
public enum ModelFamily
{
    Unknown,
    /// <summary>Stable Diffusion 1.x single-file checkpoint (CLIP ViT-L text under `cond_stage_model.transformer.`).</summary>
    [JsonStringEnumMemberName("sd1")]
    Sd1,
    /// <summary>Stable Diffusion 2.x (OpenCLIP text under `cond_stage_model.model.`).</summary>
    [JsonStringEnumMemberName("sd2")]
    Sd2,
    /// <summary>SDXL (`conditioner.embedders.`).</summary>
    [JsonStringEnumMemberName("sdxl")]
    Sdxl,
    /// <summary>SD 3 (MMDiT `joint_blocks`).</summary>
    [JsonStringEnumMemberName("sd3")]
    Sd3,
    /// <summary>Flux (`double_blocks` / `single_blocks`).</summary>
    Flux,
    /// <summary>A standalone AutoencoderKL (ldm or diffusers keys).</summary>
    Vae,
    /// <summary>A diffusers-layout UNet on its own.</summary>
    DiffusersUnet,
    /// <summary>kohya LoRA (Linear and 1×1 modules only).</summary>
    Lora,
    /// <summary>LoRA that also adapts k×k convolutions (LyCORIS LoCon / kohya conv_dim).</summary>
    [JsonStringEnumMemberName("locon")]
    LoCon,
    /// <summary>LyCORIS LoHa (Hadamard product, `hada_w1_a`...).</summary>
    [JsonStringEnumMemberName("loha")]
    LoHa,
    /// <summary>LyCORIS LoKr (`lokr_w1`...).</summary>
    [JsonStringEnumMemberName("lokr")]
    LoKr,
}

/// <summary>The detected family and the key that gave it away (for messages).</summary>
public sealed record FamilyDetection(ModelFamily Family, string Evidence)
{
    public bool IsNetwork => Family is ModelFamily.Lora or ModelFamily.LoCon or ModelFamily.LoHa or ModelFamily.LoKr;

    /// <summary>A phrase for messages: "an SDXL checkpoint", "a LoHa network file"...</summary>
    public string Describe() => Family switch
    {
        ModelFamily.Sd1 => "an SD 1.x checkpoint",
        ModelFamily.Sd2 => "an SD 2.x checkpoint",
        ModelFamily.Sdxl => "an SDXL checkpoint",
        ModelFamily.Sd3 => "an SD 3 checkpoint",
        ModelFamily.Flux => "a Flux checkpoint",
        ModelFamily.Vae => "a standalone VAE",
        ModelFamily.DiffusersUnet => "a diffusers-layout UNet (one component, not a single-file checkpoint)",
        ModelFamily.Lora => "a LoRA network file",
        ModelFamily.LoCon => "a LoCon network file",
        ModelFamily.LoHa => "a LoHa network file",
        ModelFamily.LoKr => "a LoKr network file",
        _ => "an unrecognised weights file",
    };

    /// <summary>Judges a file from its key names only.</summary>
    public static FamilyDetection Detect(IEnumerable<string> keyEnumerable)
    {
        var keys = keyEnumerable as IReadOnlyCollection<string> ?? keyEnumerable.ToList();
        string? Find(Func<string, bool> p) => keys.FirstOrDefault(p);

        if (Find(k => k.Contains(".hada_w1_a", StringComparison.Ordinal)) is { } loha) return new(ModelFamily.LoHa, loha);
        if (Find(k => k.Contains(".lokr_w1", StringComparison.Ordinal)) is { } lokr) return new(ModelFamily.LoKr, lokr);
        if (Find(k => k.EndsWith(".lora_down.weight", StringComparison.Ordinal) || k.StartsWith("lora_unet_", StringComparison.Ordinal) || k.StartsWith("lora_te", StringComparison.Ordinal)) is { } lora)
        {
            // kohya's own targets (Transformer2DModel children, CLIP attention/MLP) are all Linear or 1×1; anything
            // in a resnet, sampler or conv_in/out is the conv extension ("LoCon").
            var conv = Find(k => k.StartsWith("lora_unet_", StringComparison.Ordinal) &&
                                 (k.Contains("_resnets_", StringComparison.Ordinal) || k.Contains("samplers_", StringComparison.Ordinal) ||
                                  k.StartsWith("lora_unet_conv_", StringComparison.Ordinal) || k.Contains("time_embedding", StringComparison.Ordinal)));
            return conv is null ? new(ModelFamily.Lora, lora) : new(ModelFamily.LoCon, conv);
        }
        if (Find(k => k.StartsWith("conditioner.embedders.", StringComparison.Ordinal)) is { } xl) return new(ModelFamily.Sdxl, xl);
        if (Find(k => k.Contains("joint_blocks.", StringComparison.Ordinal)) is { } sd3) return new(ModelFamily.Sd3, sd3);
        if (Find(k => k.Contains("double_blocks.", StringComparison.Ordinal)) is { } flux) return new(ModelFamily.Flux, flux);
        if (Find(k => k.StartsWith("cond_stage_model.model.", StringComparison.Ordinal)) is { } sd2) return new(ModelFamily.Sd2, sd2);
        if (Find(k => k.StartsWith("cond_stage_model.transformer.", StringComparison.Ordinal)) is { } sd1 &&
            keys.Any(k => k.StartsWith("model.diffusion_model.", StringComparison.Ordinal)))
            return new(ModelFamily.Sd1, sd1);
        if (Find(k => k.StartsWith("down_blocks.", StringComparison.Ordinal) || k.StartsWith("conv_in.", StringComparison.Ordinal)) is { } unet &&
            keys.Any(k => k.StartsWith("time_embedding.", StringComparison.Ordinal)))
            return new(ModelFamily.DiffusersUnet, unet);
        if (Find(k => k.StartsWith("encoder.down", StringComparison.Ordinal) || k.StartsWith("first_stage_model.encoder.", StringComparison.Ordinal)) is { } vae &&
            !keys.Any(k => k.StartsWith("model.diffusion_model.", StringComparison.Ordinal)))
            return new(ModelFamily.Vae, vae);
        return new(ModelFamily.Unknown, keys.FirstOrDefault() ?? "(no tensors)");
    }
}
