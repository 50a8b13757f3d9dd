namespace LoraBake.Evaluation;

/// <summary>
/// One cell of an X/Y/Z grid: a text-to-image setting rendered once per seed, the renders shown side by side
/// (webui's batch grid). <see cref="RenderSetting.Epoch"/> null is the baseline: the base model without the LoRA.
/// </summary>
public sealed record GridCell : RenderSetting
{
    public required int X { get; init; }
    public required int Y { get; init; }
    public required int Z { get; init; }
    /// <summary>Index of the recipe prompt this cell started from (before Prompt S/R).</summary>
    public required int PromptIndex { get; init; }
    public required IReadOnlyList<long> Seeds { get; init; }

    /// <summary>The renders this cell needs, one per seed, in seed order.</summary>
    public IReadOnlyList<RenderRequest> Renders() => Seeds.Select(s => new RenderRequest
    {
        Epoch = Epoch,
        Weight = IsBaseline ? 0 : Weight,
        Prompt = Prompt,
        NegativePrompt = NegativePrompt,
        Seed = s,
        Sampler = Sampler,
        Steps = Steps,
        Cfg = Cfg,
        Width = Width,
        Height = Height,
    }).ToList();
}

/// <summary>One text-to-image render: what the sampler needs, plus which epoch's LoRA (null = none).</summary>
public sealed record RenderRequest : RenderSetting
{
    public required long Seed { get; init; }
}
