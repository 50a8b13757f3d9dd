using LoraBake.Networks;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Training;

/// <summary>
/// Builds an optimizer from kohya's <c>optimizer_type</c> name and <c>optimizer_args</c>. The same code
/// checks a recipe at plan time (<see cref="Check"/>: the optimizers are built on no parameters, so every
/// argument and value rule runs without a model) and builds the real one in each epoch.
/// </summary>
public static class OptimizerFactory
{
    /// <summary>The names a recipe may use (<see cref="OptimizerNames.All"/>).</summary>
    public static string[] Names => OptimizerNames.All;

    /// <summary>kohya's <c>ss_optimizer</c> class name (module.Class) for a recipe's optimizer.</summary>
    public static string KohyaClassName(string optimizerType) => (OptimizerNames.Aliases.GetValueOrDefault(optimizerType) ?? optimizerType).ToLowerInvariant() switch
    {
        "adamw8bit" => "bitsandbytes.optim.adamw.AdamW8bit",
        "lion" => "lion_pytorch.lion_pytorch.Lion",
        "prodigy" => "prodigyopt.prodigy.Prodigy",
        "dadaptadam" => "dadaptation.dadapt_adam.DAdaptAdam",
        "dadaptlion" => "dadaptation.dadapt_lion.DAdaptLion",
        "adafactor" => "transformers.optimization.Adafactor",
        "sgdnesterov" => "torch.optim.sgd.SGD",
        _ => "torch.optim.adamw.AdamW",
    };

    /// <param name="optimizerType">One of <see cref="Names"/> (case-insensitive, as sd-scripts).</param>
    public static NetworkOptimizer Create(string optimizerType, IEnumerable<NetworkParamGroup> groups, OptimizerArgs args, Action<string>? warn = null)
    {
        var g = groups.ToList();
        switch ((OptimizerNames.Aliases.GetValueOrDefault(optimizerType) ?? optimizerType).ToLowerInvariant())
        {
            case "adamw8bit":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.999));
                var opt = new AdamW8bitOptimizer(g, b1, b2, args.GetDouble("eps", 1e-8), args.GetDouble("weight_decay", 1e-2),
                    (int)args.GetDouble("min_8bit_size", AdamW8bitOptimizer.MinBlockwiseSize));
                args.EnsureAllUsed("AdamW8bit");
                return opt;
            }
            case "adamw":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.999));
                var opt = new AdamWOptimizer(g, b1, b2, args.GetDouble("eps", 1e-8), args.GetDouble("weight_decay", 0.01));
                args.EnsureAllUsed("AdamW");
                return opt;
            }
            case "lion":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.99));
                var opt = new LionOptimizer(g, b1, b2, args.GetDouble("weight_decay", 0.0));
                args.EnsureAllUsed("Lion");
                return opt;
            }
            case "prodigy":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.999));
                var opt = new ProdigyOptimizer(g, b1, b2,
                    beta3: args.GetNullableDouble("beta3", null),
                    eps: args.GetDouble("eps", 1e-8),
                    weightDecay: args.GetDouble("weight_decay", 0.0),
                    decouple: args.GetBool("decouple", true),
                    useBiasCorrection: args.GetBool("use_bias_correction", false),
                    safeguardWarmup: args.GetBool("safeguard_warmup", false),
                    d0: args.GetDouble("d0", 1e-6),
                    dCoef: args.GetDouble("d_coef", 1.0),
                    growthRate: args.GetDouble("growth_rate", double.PositiveInfinity));
                args.EnsureAllUsed("Prodigy");
                return opt;
            }
            case "dadaptadam":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.999));
                var opt = new DAdaptAdamOptimizer(g, b1, b2, args.GetDouble("eps", 1e-8), args.GetDouble("weight_decay", 0.0),
                    args.GetBool("decouple", false), args.GetBool("use_bias_correction", false), args.GetDouble("d0", 1e-6),
                    args.GetDouble("growth_rate", double.PositiveInfinity));
                args.EnsureAllUsed("DAdaptAdam");
                return opt;
            }
            case "dadaptlion":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.99));
                var opt = new DAdaptLionOptimizer(g, b1, b2, args.GetDouble("weight_decay", 0.0), args.GetDouble("d0", 1e-6));
                args.EnsureAllUsed("DAdaptLion");
                return opt;
            }
            case "adafactor":
            {
                var eps = args.GetPair("eps", (1e-30, 1e-3));
                var opt = new AdafactorOptimizer(g, eps.Item1, eps.Item2, args.GetDouble("clip_threshold", 1.0), args.GetDouble("decay_rate", -0.8),
                    args.GetNullableDouble("beta1", null), args.GetDouble("weight_decay", 0.0), args.GetBool("scale_parameter", true),
                    args.GetBool("relative_step", true), args.GetBool("warmup_init", false));
                args.EnsureAllUsed("AdaFactor");
                return opt;
            }
            case "sgdnesterov":
            {
                var opt = new SgdNesterovOptimizer(g, args.GetDouble("momentum", 0.9), args.GetDouble("weight_decay", 0.0));
                args.EnsureAllUsed("SGDNesterov");
                return opt;
            }
            default:
                throw new UserError($"optimizer_type '{optimizerType}' is not supported: use one of {string.Join(", ", Names)}.");
        }
    }

    /// <summary>
    /// Every rule the optimizer would enforce when training starts, run now on no parameters: its arguments
    /// (unknown keys, types, ranges) and the shared-LR rule of the adaptive optimizers. (recipe key, message)
    /// per problem; warnings are what kohya warns about.
    /// </summary>
    public static (IReadOnlyList<(string Key, string Message)> Errors, IReadOnlyList<(string Key, string Message)> Warnings) Check(
        string optimizerType, IReadOnlyList<string> optimizerArgs, double unetLr, double textEncoderLr)
    {
        var errors = new List<(string, string)>();
        var warnings = new List<(string, string)>();
        try
        {
            using var _ = Create(optimizerType, [], new OptimizerArgs(optimizerArgs, "optimizer_args"));
        }
        catch (UserError e)
        {
            errors.Add(("training.optimizer_args", e.Message.StartsWith("optimizer_args: ", StringComparison.Ordinal) ? e.Message["optimizer_args: ".Length..] : e.Message));
        }
        if (OptimizerNames.IsAdaptive(optimizerType))
        {
            var lrs = new List<(string, double)> { ("unet_lr", unetLr) };
            if (textEncoderLr > 0) lrs.Add(("text_encoder_lr", textEncoderLr));
            if (ProdigyOptimizer.SharedLrError(optimizerType, lrs) is { } error) errors.Add(("training.text_encoder_lr", error));
            else if (unetLr <= 0.1)
                warnings.Add(("training.unet_lr", $"{unetLr.ToString("R", System.Globalization.CultureInfo.InvariantCulture)} is very low for {optimizerType}, which adapts the step size itself; use about 1.0 (the colab's override uses 0.5)"));
        }
        if (errors.Count == 0 && optimizerType.Equals("AdaFactor", StringComparison.OrdinalIgnoreCase))
        {
            var a = new OptimizerArgs(optimizerArgs);
            if (a.GetBool("relative_step", true) || a.GetBool("warmup_init", false))
                warnings.Add(("training.optimizer", "AdaFactor with relative_step (kohya's default) sets its own step size: unet_lr, text_encoder_lr and lr_scheduler are ignored, as in kohya; add relative_step=False, scale_parameter=False, warmup_init=False to optimizer_args to use them"));
        }
        return (errors, warnings);
    }
}
