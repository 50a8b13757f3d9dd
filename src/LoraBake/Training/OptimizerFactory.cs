using LoraBake.Runtime;

namespace LoraBake.Training;

/// <summary>Builds an optimizer from kohya's <c>optimizer_type</c> name and <c>optimizer_args</c>.</summary>
public static class OptimizerFactory
{
    /// <param name="optimizerType">AdamW, AdamW8bit, Lion, Prodigy (case-insensitive, as sd-scripts).</param>
    /// <param name="warn">Receives warnings (e.g. AdamW8bit running as AdamW).</param>
    public static NetworkOptimizer Create(string optimizerType, IEnumerable<NetworkParamGroup> groups, OptimizerArgs args, Action<string>? warn = null)
    {
        switch (optimizerType.ToLowerInvariant())
        {
            case "adamw8bit":
                warn?.Invoke("AdamW8bit needs bitsandbytes (CUDA); training with 32-bit AdamW instead. " +
                             "Updates differ only by 8-bit state quantisation; memory use is higher.");
                return CreateAdamW(groups, args, "AdamW8bit");
            case "adamw":
                return CreateAdamW(groups, args, "AdamW");
            case "lion":
            {
                var (b1, b2) = args.GetPair("betas", (0.9, 0.99));
                var opt = new LionOptimizer(groups, b1, b2, args.GetDouble("weight_decay", 0.0));
                args.EnsureAllUsed("Lion");
                return opt;
            }
            case "prodigy":
            {
                var groupList = groups.ToList();
                if (groupList.Any(g => g.BaseLr > 0 && g.BaseLr <= 0.1))
                    warn?.Invoke("Prodigy estimates the step size itself; its learning rate is a multiplier and is normally 1.0 " +
                                 $"(got {string.Join(", ", groupList.Select(g => g.BaseLr))}).");
                var (b1, b2) = args.GetPair("betas", (0.9, 0.999));
                var opt = new ProdigyOptimizer(groupList, b1, b2,
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
            default:
                throw new UserError($"optimizer_type '{optimizerType}' is not supported: use AdamW, AdamW8bit, Lion or Prodigy.");
        }
    }

    private static AdamWOptimizer CreateAdamW(IEnumerable<NetworkParamGroup> groups, OptimizerArgs args, string name)
    {
        var (b1, b2) = args.GetPair("betas", (0.9, 0.999));
        var opt = new AdamWOptimizer(groups, b1, b2, args.GetDouble("eps", 1e-8), args.GetDouble("weight_decay", 0.01));
        args.EnsureAllUsed(name);
        return opt;
    }
}
