using System.Globalization;

namespace LoraBake.Recipes;

/// <summary>
/// The colab's one switch for Prodigy and DAdaptation (<c>override_values_for_dadapt_and_prodigy</c>, on by default
/// there and here; docs/kohya-compatibility.md, "The adaptive-optimizer override"): with an adaptive optimizer it sets both learning rates to 0.5, the
/// scheduler to constant_with_warmup with a 0.05 warm-up ratio, network_alpha to network_dim, and, when
/// optimizer_args is empty, decouple=True, weight_decay=0.01, betas=[0.9,0.999] (+ d_coef=2,
/// use_bias_correction=True, safeguard_warmup=True for Prodigy). Applied once, right after the recipe is read,
/// so the step math, fingerprints, training and metadata all see the values that are used.
/// </summary>
public static class AdaptiveOptimizerOverride
{
    public const double LearningRate = 0.5;
    public const string Scheduler = "constant_with_warmup";
    public const double WarmupRatio = 0.05;

    public static bool Applies(TrainingSettings t) => t.OverrideValuesForDadaptAndProdigy && OptimizerNames.IsAdaptive(t.Optimizer);

    public static Recipe Apply(Recipe recipe)
    {
        var t = recipe.Training;
        if (!Applies(t)) return recipe;
        IReadOnlyList<string> args = t.OptimizerArgs;
        if (args.Count == 0)
        {
            args = ["decouple=True", "weight_decay=0.01", "betas=[0.9,0.999]"];
            if (t.Optimizer.Equals("Prodigy", StringComparison.OrdinalIgnoreCase))
                args = [.. args, "d_coef=2", "use_bias_correction=True", "safeguard_warmup=True"];
        }
        return recipe with
        {
            Training = t with
            {
                UnetLr = LearningRate, TextEncoderLr = LearningRate, LrScheduler = Scheduler, LrWarmupRatio = WarmupRatio, OptimizerArgs = args,
            },
            Network = recipe.Network with { NetworkAlpha = recipe.Network.NetworkDim },
        };
    }

    /// <summary>What the override changed, "key value (was old)", for the plan and the recipe's notice; empty when nothing.</summary>
    public static IReadOnlyList<string> Changes(Recipe before, Recipe after)
    {
        var list = new List<string>();
        void Diff(string key, object? was, object? now)
        {
            if (!Equals(Show(was), Show(now))) list.Add($"{key} {Show(now)} (was {Show(was)})");
        }
        Diff("unet_lr", before.Training.UnetLr, after.Training.UnetLr);
        Diff("text_encoder_lr", before.Training.TextEncoderLr, after.Training.TextEncoderLr);
        Diff("lr_scheduler", before.Training.LrScheduler, after.Training.LrScheduler);
        Diff("lr_warmup_ratio", before.Training.LrWarmupRatio, after.Training.LrWarmupRatio);
        Diff("network_alpha", before.Network.NetworkAlpha, after.Network.NetworkAlpha);
        Diff("optimizer_args", before.Training.OptimizerArgs, after.Training.OptimizerArgs);
        return list;
    }

    /// <summary>The line `plan` prints: the values the optimizer trains with, or null when the override is off or does not apply.</summary>
    public static string? Describe(Recipe recipe)
    {
        var t = recipe.Training;
        if (!Applies(t)) return null;
        return $"{t.Optimizer} with the colab's override (override_values_for_dadapt_and_prodigy): unet_lr {Show(t.UnetLr)}, text_encoder_lr {Show(t.TextEncoderLr)}, " +
               $"lr_scheduler {t.LrScheduler}, lr_warmup_ratio {Show(t.LrWarmupRatio)}, network_alpha {Show(recipe.Network.NetworkAlpha)}, optimizer_args {Show(t.OptimizerArgs)}";
    }

    static string Show(object? v) => v switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IReadOnlyList<string> l => "[" + string.Join(", ", l) + "]",
        _ => v?.ToString() ?? "null",
    };
}
