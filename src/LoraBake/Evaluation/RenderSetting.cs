namespace LoraBake.Evaluation;

/// <summary>
/// What a text-to-image render is set to, shared by a grid cell (rendered once per seed) and one render (one
/// seed): which epoch's LoRA at which weight, the prompts, the sampler and the image size.
/// </summary>
public abstract record RenderSetting
{
    /// <summary>The saved epoch whose file is loaded; null = baseline (no LoRA).</summary>
    public required int? Epoch { get; init; }
    /// <summary>
    /// The LoRA multiplier. A grid cell keeps its row's weight even on baseline cells, where it has no effect;
    /// a baseline render has 0.
    /// </summary>
    public required double Weight { get; init; }
    public required string Prompt { get; init; }
    public required string NegativePrompt { get; init; }
    public required string Sampler { get; init; }
    public required int Steps { get; init; }
    public required double Cfg { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }

    public bool IsBaseline => Epoch is null;
}
