namespace LoraBake.Recipes;

/// <summary>A base checkpoint the colab offers by name (docs/kohya-compatibility.md, "Model presets").</summary>
public sealed record ModelPreset(string Name, string Url, string? Sha256, string FileName, string Description);

/// <summary>The colab's three training models, by the names used in `model.source`.</summary>
public static class ModelPresets
{
    public static readonly ModelPreset Anime = new("anime",
        "https://huggingface.co/hollowstrawberry/stable-diffusion-guide/resolve/main/models/animefull-final-pruned-fp16.safetensors",
        null, "animefull-final-pruned-fp16.safetensors",
        "NovelAI's animefull (the colab's default): anime characters and styles, booru-tag captions");

    public static readonly ModelPreset AnyLora = new("anylora",
        "https://huggingface.co/Lykon/AnyLoRA/resolve/main/AnyLoRA_noVae_fp16-pruned.ckpt",
        null, "AnyLoRA_noVae_fp16-pruned.ckpt",
        "Lykon's AnyLoRA: a neutral anime model whose LoRAs transfer well to other anime models (no VAE inside)");

    public static readonly ModelPreset Sd15 = new("sd15",
        "https://huggingface.co/hollowstrawberry/stable-diffusion-guide/resolve/main/models/sd-v1-5-pruned-noema-fp16.safetensors",
        null, "sd-v1-5-pruned-noema-fp16.safetensors",
        "Stable Diffusion 1.5: realistic subjects, natural-language captions");

    public static IReadOnlyList<ModelPreset> All { get; } = [Anime, AnyLora, Sd15];

    public static ModelPreset? Find(string name) =>
        All.FirstOrDefault(p => p.Name.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase));
}
