using LoraBake.Networks;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// D-Adaptation Adam (facebookresearch/dadaptation 3.x <c>dadapt_adam.py</c>, Defazio &amp; Mishchenko): Adam whose
/// step size d·lr is estimated from an EMA of ⟨g, s/(√v+ε)⟩ (s, v before the step) over the ℓ1 norm of s, an
/// EMA of the gradients scaled by d·lr. Followed line by line (no FSDP): one d for all groups, every group's LR the same or 0 (the
/// rule <see cref="ProdigyOptimizer.SharedLrError"/> checks at plan time).
/// </summary>
public sealed class DAdaptAdamOptimizer : DAdaptationOptimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public bool Decouple { get; }
    public bool UseBiasCorrection { get; }
    public double GrowthRate { get; }

    public DAdaptAdamOptimizer(IEnumerable<NetworkParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0.0, bool decouple = false, bool useBiasCorrection = false, double d0 = 1e-6, double growthRate = double.PositiveInfinity)
        : base(groups, "DAdaptAdam", d0)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Decouple = decouple;
        UseBiasCorrection = useBiasCorrection; GrowthRate = growthRate;
    }

    public override string Description =>
        $"dadaptation.dadapt_adam.DAdaptAdam(betas=({AdamWOptimizer.F(Beta1)}, {AdamWOptimizer.F(Beta2)}), weight_decay={AdamWOptimizer.F(WeightDecay)}, decouple={(Decouple ? "True" : "False")})";

    protected override void StepCore()
    {
        double lr = Groups.Count == 0 ? 0 : Groups.Max(g => g.Lr);
        double biasCorrection = UseBiasCorrection ? Math.Sqrt(1 - Math.Pow(Beta2, K + 1)) / (1 - Math.Pow(Beta1, K + 1)) : 1.0;
        double d = D;
        double dlr = d * lr * biasCorrection;
        double sqrtBeta2 = Math.Sqrt(Beta2);
        double numeratorAcum = 0, skL1 = 0;

        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad) = (slot.P, slot.Grad);
            if (WeightDecay != 0 && !Decouple) grad.add_(p, WeightDecay);
            if (!HasState(slot)) Steps[slot.Key] = 0;
            var s = StateTensor(slot, "s");
            var expAvg = StateTensor(slot, "exp_avg");
            var expAvgSq = StateTensor(slot, "exp_avg_sq");
            if (slot.Group.Lr > 0)
            {
                // ⟨g, s/(√v+ε)⟩ with s and v as they were before this step (so the first step adds 0).
                var denom = expAvgSq.sqrt().add_(Eps);
                numeratorAcum += dlr * dot(grad.flatten(), s.div(denom).flatten()).item<float>();
                expAvg.mul_(Beta1).add_(grad, dlr * (1 - Beta1));
                expAvgSq.mul_(Beta2).addcmul_(grad, grad, 1 - Beta2);
                s.mul_(sqrtBeta2).add_(grad, dlr * (1 - sqrtBeta2));
                skL1 += s.abs().sum().item<float>();
            }
        }
        if (skL1 == 0) return;   // no gradient anywhere: dadaptation returns before d, the numerator and k
        double numeratorWeighted = sqrtBeta2 * NumeratorWeighted + (1 - sqrtBeta2) * numeratorAcum;
        if (lr > 0)
        {
            double dHat = numeratorWeighted / ((1 - sqrtBeta2) * skL1);
            d = Math.Max(d, Math.Min(dHat, d * GrowthRate));
        }
        NumeratorWeighted = numeratorWeighted;
        D = d;
        foreach (var slot in ParamsWithGrad())
        {
            var p = slot.P;
            var expAvg = State[slot.Key]["exp_avg"];
            var denom = State[slot.Key]["exp_avg_sq"].sqrt().add_(Eps);
            Steps[slot.Key] += 1;
            if (WeightDecay != 0 && Decouple) p.add_(p, -WeightDecay * dlr);
            p.addcdiv_(expAvg, denom, -1);
        }
        K += 1;
    }
}
