namespace LoraBake.Evaluation;

/// <summary>
/// One value on a resolved axis. Only the field of the axis's kind is set; <see cref="IsBaseline"/> marks the
/// Epoch axis's "no LoRA" value. <see cref="Label"/> is what the grid prints.
/// </summary>
public sealed record AxisValue
{
    public required string Label { get; init; }
    public int? Epoch { get; init; }
    public bool IsBaseline { get; init; }
    public double? Weight { get; init; }
    /// <summary>Index into the recipe's prompts (Prompt axis).</summary>
    public int? PromptIndex { get; init; }
    public long? Seed { get; init; }
    /// <summary>Prompt S/R: the replacement (the first value equals the search string, i.e. the original prompt).</summary>
    public string? Replacement { get; init; }
}

/// <summary>
/// An axis with its values in order; <see cref="Search"/> is the Prompt S/R search string. A null
/// <see cref="Kind"/> is an unused slot: one value with an empty label.
/// </summary>
public sealed record GridAxis(AxisKind? Kind, IReadOnlyList<AxisValue> Values, string? Search = null)
{
    public int Count => Values.Count;
    public string Title => Kind is { } k ? AxisSpec.KindName(k) : "";
    public bool IsUnused => Kind is null;
}
