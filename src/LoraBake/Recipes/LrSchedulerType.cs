using LoraBake.Runtime;

namespace LoraBake.Recipes;

/// <summary>The kohya / transformers scheduler names (<c>lr_scheduler</c>).</summary>
public enum LrSchedulerType
{
    Constant,
    ConstantWithWarmup,
    Linear,
    Cosine,
    CosineWithRestarts,
    Polynomial,
}

/// <summary>The lr_scheduler values a recipe may name, in kohya's spelling; Training's LrSchedule computes the curves.</summary>
public static class LrSchedulers
{
    /// <summary>Parses kohya's scheduler name (<c>cosine_with_restarts</c> …).</summary>
    public static LrSchedulerType ParseType(string name) => name switch
    {
        "constant" => LrSchedulerType.Constant,
        "constant_with_warmup" => LrSchedulerType.ConstantWithWarmup,
        "linear" => LrSchedulerType.Linear,
        "cosine" => LrSchedulerType.Cosine,
        "cosine_with_restarts" => LrSchedulerType.CosineWithRestarts,
        "polynomial" => LrSchedulerType.Polynomial,
        _ => throw new UserError($"Unknown lr_scheduler '{name}': use one of {string.Join(", ", Enum.GetValues<LrSchedulerType>().Select(Name))}."),
    };

    /// <summary>kohya's name for <paramref name="type"/> (the value of <c>ss_lr_scheduler</c>).</summary>
    public static string Name(LrSchedulerType type) => type switch
    {
        LrSchedulerType.Constant => "constant",
        LrSchedulerType.ConstantWithWarmup => "constant_with_warmup",
        LrSchedulerType.Linear => "linear",
        LrSchedulerType.Cosine => "cosine",
        LrSchedulerType.CosineWithRestarts => "cosine_with_restarts",
        LrSchedulerType.Polynomial => "polynomial",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Every name, sorted: the allowed values of lr_scheduler.</summary>
    public static string[] Names => [.. Enum.GetValues<LrSchedulerType>().Select(Name).Order(StringComparer.Ordinal)];
}
