namespace LoraBake.Evaluation;

/// <summary>
/// An axis as the recipe writes it (`x_axis: "Prompt S/R: red, blue"`): its kind and the unparsed values.
/// <see cref="Key"/> is the recipe key it came from, for messages.
/// </summary>
public sealed record AxisSpec(AxisKind Kind, string ValuesText, string Key)
{
    /// <summary>The name webui shows for this kind of axis.</summary>
    public static string KindName(AxisKind kind) => kind switch
    {
        AxisKind.Epoch => "Epoch",
        AxisKind.Weight => "Weight",
        AxisKind.Prompt => "Prompt",
        AxisKind.Seed => "Seed",
        AxisKind.PromptSR => "Prompt S/R",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
