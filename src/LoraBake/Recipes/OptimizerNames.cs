namespace LoraBake.Recipes;

/// <summary>The optimizer_type values a recipe may name; Training's OptimizerFactory builds them.</summary>
public static class OptimizerNames
{
    /// <summary>The names a recipe may use, in the colab's spelling (matched case-insensitively, as sd-scripts).</summary>
    public static readonly string[] All =
        ["AdamW8bit", "AdamW", "Lion", "Prodigy", "DAdaptAdam", "DAdaptLion", "AdaFactor", "SGDNesterov"];

    /// <summary>kohya/colab names we take as another: DAdaptation is DAdaptAdam (kohya maps it to DAdaptAdamPreprint, the colab means the family).</summary>
    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["DAdaptation"] = "DAdaptAdam", ["Adafactor"] = "AdaFactor",
    };

    /// <summary>Optimizers whose step size is adapted (d·lr): the learning rate is a multiplier near 1, one for all groups.</summary>
    public static bool IsAdaptive(string optimizerType) =>
        optimizerType.ToLowerInvariant() is "prodigy" or "dadaptadam" or "dadaptlion" or "dadaptation";
}
