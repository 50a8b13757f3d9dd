using System.Text.Json.Nodes;
using LoraBake.Networks;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Prodigy (prodigyopt 1.0, Mishchenko &amp; Defazio): Adam whose step size d·lr is estimated online
/// from how far the parameters moved against the gradients. Written to follow
/// <c>prodigyopt/prodigy.py</c> line by line (slice_p = 1, no FSDP): the d estimate is shared by all
/// groups, and every group's LR must be the same or 0.
/// </summary>
public sealed class ProdigyOptimizer : NetworkOptimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    /// <summary>β3; <c>None</c> in Python means √β2.</summary>
    public double Beta3 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public bool Decouple { get; }
    public bool UseBiasCorrection { get; }
    public bool SafeguardWarmup { get; }
    public double D0 { get; }
    public double DCoef { get; }
    public double GrowthRate { get; }

    /// <summary>Current step-size estimate d (starts at d0).</summary>
    public double D { get; private set; }
    public double DMax { get; private set; }
    public double DNumerator { get; private set; }
    public double DHat { get; private set; }
    /// <summary>Completed steps k (only steps that found a gradient count).</summary>
    public long K { get; private set; }

    public ProdigyOptimizer(IEnumerable<NetworkParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double? beta3 = null,
                   double eps = 1e-8, double weightDecay = 0.0, bool decouple = true, bool useBiasCorrection = false,
                   bool safeguardWarmup = false, double d0 = 1e-6, double dCoef = 1.0, double growthRate = double.PositiveInfinity)
        : base(groups)
    {
        if (!(d0 > 0)) throw new UserError($"Prodigy: d0 must be > 0 (got {d0}); set it in optimizer_args.");
        if (!(eps > 0)) throw new UserError($"Prodigy: eps must be > 0 (got {eps}); set it in optimizer_args.");
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1)
            throw new UserError($"Prodigy: betas must lie in [0, 1) (got ({beta1}, {beta2})); fix betas in optimizer_args.");
        if (SharedLrError("Prodigy", Groups.Select(g => (g.Name, g.BaseLr))) is { } error) throw new UserError(error);
        Beta1 = beta1; Beta2 = beta2; Beta3 = beta3 ?? Math.Sqrt(beta2); Eps = eps; WeightDecay = weightDecay;
        Decouple = decouple; UseBiasCorrection = useBiasCorrection; SafeguardWarmup = safeguardWarmup;
        D0 = d0; DCoef = dCoef; GrowthRate = growthRate;
        D = d0; DMax = d0; DNumerator = 0.0; DHat = d0; K = 0;
    }

    /// <summary>
    /// The adaptive optimizers' LR rule (prodigyopt and dadaptation raise on anything else): one step size d is
    /// estimated for all parameters, so every group's LR must be the same (0 = not trained). Null when it holds.
    /// </summary>
    public static string? SharedLrError(string optimizer, IEnumerable<(string Name, double Lr)> groupLrs)
    {
        var lrs = groupLrs.Where(g => g.Lr != 0).ToList();
        if (lrs.Select(g => g.Lr).Distinct().Count() <= 1) return null;
        return $"{optimizer} adapts one step size for all parameters, so unet_lr and text_encoder_lr must be equal " +
               $"(got {string.Join(", ", lrs.Select(g => $"{g.Name}={g.Lr.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}"))}): " +
               "set both to the same value (usually 1.0; the colab's override uses 0.5), or text_encoder_lr to 0 to train the UNet only";
    }

    public override string Description =>
        $"prodigyopt.prodigy.Prodigy(betas=({AdamWOptimizer.F(Beta1)}, {AdamWOptimizer.F(Beta2)}), weight_decay={AdamWOptimizer.F(WeightDecay)}, " +
        $"decouple={Py(Decouple)}, use_bias_correction={Py(UseBiasCorrection)}, safeguard_warmup={Py(SafeguardWarmup)}, d_coef={AdamWOptimizer.F(DCoef)})";

    private static string Py(bool b) => b ? "True" : "False";

    protected override void StepCore()
    {
        double lr = Groups.Count == 0 ? 0.0 : Groups.Max(g => g.Lr);
        double biasCorrection = UseBiasCorrection
            ? Math.Sqrt(1 - Math.Pow(Beta2, K + 1)) / (1 - Math.Pow(Beta1, K + 1))
            : 1.0;
        double d = D, dMax = DMax;
        double dlr = d * lr * biasCorrection;
        double dNumerator = DNumerator * Beta3;
        double dDenom = 0.0;

        // Checked for all groups before any parameter changes (a resumed state could hold differing LRs).
        if (Groups.Any(g => g.Lr != lr && g.Lr != 0.0))
            throw new InvalidOperationException("Prodigy: param groups must share one LR (or 0).");
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad) = (slot.P, slot.Grad);
            if (WeightDecay != 0 && !Decouple) grad.add_(p, WeightDecay);

            if (!HasState(slot))
            {
                Steps[slot.Key] = 0;
                StateTensor(slot, "s", () => zeros_like(p).flatten());
                // prodigyopt keeps a 0-dim zero instead of a copy when the parameter starts all-zero.
                StateTensor(slot, "p0", () => p.any().item<bool>() ? p.flatten().clone() : tensor(0f, dtype: p.dtype, device: p.device));
                StateTensor(slot, "exp_avg");
                StateTensor(slot, "exp_avg_sq");
            }
            var st = State[slot.Key];
            var (s, p0, expAvg, expAvgSq) = (st["s"], st["p0"], st["exp_avg"], st["exp_avg_sq"]);

            if (slot.Group.Lr > 0.0)
            {
                var flatGrad = grad.flatten();
                dNumerator += (d / D0) * dlr * dot(flatGrad, p0 - p.flatten()).item<float>();
                expAvg.mul_(Beta1).add_(grad, d * (1 - Beta1));
                expAvgSq.mul_(Beta2).addcmul_(grad, grad, d * d * (1 - Beta2));
                s.mul_(Beta3).add_(flatGrad, SafeguardWarmup ? (d / D0) * d : (d / D0) * dlr);
                dDenom += s.abs().sum().item<float>();
            }
        }

        double dHat = d;
        if (dDenom == 0) return;   // no gradient anywhere: prodigyopt returns before updating d or k
        if (lr > 0.0)
        {
            dHat = DCoef * dNumerator / dDenom;
            if (d == D0) d = Math.Max(d, dHat);
            dMax = Math.Max(dMax, dHat);
            d = Math.Min(dMax, d * GrowthRate);
        }
        DNumerator = dNumerator; D = d; DMax = dMax; DHat = dHat;

        foreach (var slot in ParamsWithGrad())
        {
            var p = slot.P;
            var expAvg = State[slot.Key]["exp_avg"];
            var expAvgSq = State[slot.Key]["exp_avg_sq"];
            Steps[slot.Key] += 1;
            var denom = expAvgSq.sqrt().add_(d * Eps);
            if (WeightDecay != 0 && Decouple) p.add_(p, -WeightDecay * dlr);
            p.addcdiv_(expAvg, denom, -dlr);
        }
        K += 1;
    }

    protected override JsonObject SaveScalars() => new()
    {
        ["d"] = D, ["d_max"] = DMax, ["d_numerator"] = DNumerator, ["d_hat"] = DHat, ["k"] = K,
    };

    protected override void LoadScalars(JsonObject scalars)
    {
        D = scalars["d"]!.GetValue<double>();
        DMax = scalars["d_max"]!.GetValue<double>();
        DNumerator = scalars["d_numerator"]!.GetValue<double>();
        DHat = scalars["d_hat"]!.GetValue<double>();
        K = scalars["k"]!.GetValue<long>();
    }
}
