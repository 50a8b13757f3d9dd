namespace LoraBake.Sampling;

/// <summary>
/// A LoRA / LoCon / LoHa file applied while generating, with webui's two strengths
/// (<c>&lt;lora:NAME:TE:UNET&gt;</c>): one for the text-encoder modules, one for the UNet modules.
/// </summary>
public sealed record LoraReference(string Path, double TextEncoderWeight, double UnetWeight)
{
    /// <summary>The same strength for both parts (<c>&lt;lora:NAME:W&gt;</c>).</summary>
    public static LoraReference Uniform(string path, double weight) => new(path, weight, weight);
}

/// <summary>
/// One text-to-image render as webui's txt2img takes it. <paramref name="Prompt"/> may hold
/// <c>&lt;lora:NAME:…&gt;</c> tags (resolved by the generator's LoRA search folders) besides
/// <paramref name="Loras"/>. <paramref name="Sampler"/> is a <see cref="SamplerRegistry"/> name;
/// <paramref name="ClipSkip"/> is webui's "Clip skip" (CLIP_stop_at_last_layers): 1 = last layer.
/// </summary>
public sealed record GenerateRequest(
    string Prompt, string NegativePrompt, long Seed, int Steps, string Sampler, double Cfg, int Width, int Height,
    IReadOnlyList<LoraReference> Loras, int ClipSkip = 1);

/// <summary>How LoRA files act on the model during a render; both leave the model's weights unchanged afterwards.</summary>
public enum LoraApplyMode
{
    /// <summary>Forward hooks add each adapter's output (y + m·scale·up(down(x))); nothing is written to the weights.</summary>
    Hooks,
    /// <summary>ΔW is folded into the touched weights before the render and the saved originals copied back after it (webui's way; the default).</summary>
    Merge,
}
