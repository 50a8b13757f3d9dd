using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Training;

/// <summary>
/// Learning-rate multiplier as a pure function of the optimizer step, with exactly the lambdas of
/// transformers' <c>get_*_schedule_with_warmup</c> (what sd-scripts' <c>get_scheduler_fix</c> returns).
/// Like torch's LambdaLR, the LR used by the optimizer step that follows <c>s</c> completed steps is
/// <c>base_lr × Multiplier(s)</c>: the first step uses <c>Multiplier(0)</c>.
/// </summary>
public sealed record LrSchedule
{
    public LrSchedulerType Type { get; }
    /// <summary>T: total optimizer steps (<c>max_train_steps</c>).</summary>
    public int TotalSteps { get; }
    /// <summary>W: warmup steps.</summary>
    public int WarmupSteps { get; }
    /// <summary><c>lr_scheduler_num_cycles</c> (cosine_with_restarts).</summary>
    public int NumCycles { get; }
    /// <summary><c>lr_scheduler_power</c> (polynomial).</summary>
    public double Power { get; }
    /// <summary>The optimizer's default LR: polynomial decays towards <see cref="PolynomialLrEnd"/> in absolute terms.</summary>
    public double InitialLr { get; }

    /// <summary>transformers' <c>get_polynomial_decay_schedule_with_warmup</c> default <c>lr_end</c>.</summary>
    public const double PolynomialLrEnd = 1e-7;

    public LrSchedule(LrSchedulerType type, int totalSteps, int warmupSteps = 0, int numCycles = 1, double power = 1.0, double initialLr = 1.0)
    {
        if (totalSteps < 0) throw new ArgumentOutOfRangeException(nameof(totalSteps));
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps));
        if (type == LrSchedulerType.Constant && warmupSteps != 0)
            throw new UserError($"lr_scheduler 'constant' does not take a warmup ({warmupSteps} warmup steps requested): " +
                                "set lr_warmup_ratio to 0 or use 'constant_with_warmup'.");
        if (type == LrSchedulerType.Polynomial && !(initialLr > PolynomialLrEnd))
            throw new UserError($"lr_scheduler 'polynomial' needs a learning rate above lr_end {PolynomialLrEnd} (got {initialLr}).");
        Type = type;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
        NumCycles = numCycles;
        Power = power;
        InitialLr = initialLr;
    }

    /// <summary>Warmup steps from the colab's ratio: <c>int(total × ratio)</c> (truncation, like Python's int()).</summary>
    public static int WarmupFromRatio(int totalSteps, double ratio)
    {
        if (ratio < 0 || ratio >= 1) throw new UserError($"lr_warmup_ratio must be in [0, 1) (got {ratio}).");
        return (int)(totalSteps * ratio);
    }

    /// <summary>Multiplier on each group's base LR after <paramref name="step"/> completed optimizer steps.</summary>
    public double Multiplier(int step)
    {
        if (Type == LrSchedulerType.Constant) return 1.0;
        double s = step, w = WarmupSteps, t = TotalSteps;
        if (step < WarmupSteps) return s / Math.Max(1.0, w);
        double progress = (s - w) / Math.Max(1.0, t - w);
        switch (Type)
        {
            case LrSchedulerType.ConstantWithWarmup:
                return 1.0;
            case LrSchedulerType.Linear:
                return Math.Max(0.0, (t - s) / Math.Max(1.0, t - w));
            case LrSchedulerType.Cosine:
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * progress)));
            case LrSchedulerType.CosineWithRestarts:
                if (progress >= 1.0) return 0.0;
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * ((NumCycles * progress) % 1.0))));
            case LrSchedulerType.Polynomial:
                if (step > TotalSteps) return PolynomialLrEnd / InitialLr;
                // transformers divides by (T − W) unguarded; T == W would be a ZeroDivisionError there.
                double remaining = 1.0 - (s - w) / Math.Max(1.0, t - w);
                double decay = (InitialLr - PolynomialLrEnd) * Math.Pow(remaining, Power) + PolynomialLrEnd;
                return decay / InitialLr;
            default:
                throw new InvalidOperationException($"Unhandled scheduler {Type}.");
        }
    }
}
