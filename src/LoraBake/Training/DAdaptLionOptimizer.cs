using LoraBake.Networks;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// D-Adaptation Lion (facebookresearch/dadaptation <c>dadapt_lion.py</c>): Lion's sign update with the step
/// size d·lr, d estimated from ⟨update, s⟩ against the ℓ1 norm of s, an EMA of past updates. Followed line by
/// line (no FSDP); one d for all groups, every group's LR the same or 0.
/// </summary>
public sealed class DAdaptLionOptimizer : DAdaptationOptimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double WeightDecay { get; }

    public DAdaptLionOptimizer(IEnumerable<NetworkParamGroup> groups, double beta1 = 0.9, double beta2 = 0.99, double weightDecay = 0.0, double d0 = 1e-6)
        : base(groups, "DAdaptLion", d0)
    {
        Beta1 = beta1; Beta2 = beta2; WeightDecay = weightDecay;
    }

    public override string Description =>
        $"dadaptation.dadapt_lion.DAdaptLion(betas=({AdamWOptimizer.F(Beta1)}, {AdamWOptimizer.F(Beta2)}), weight_decay={AdamWOptimizer.F(WeightDecay)})";

    protected override void StepCore()
    {
        double lr = Groups.Count == 0 ? 0 : Groups.Max(g => g.Lr);
        double d = D, dlr = d * lr;
        double sqrtBeta2 = Math.Sqrt(Beta2);
        double numeratorAccum = 0, skL1 = 0;
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad) = (slot.P, slot.Grad);
            var expAvg = StateTensor(slot, "exp_avg");
            var s = StateTensor(slot, "s");
            NextStep(slot);
            p.mul_(1 - dlr * WeightDecay);
            var update = expAvg.clone().mul_(Beta1).add_(grad, 1 - Beta1).sign_();
            p.add_(update, -dlr);
            expAvg.mul_(Beta2).add_(grad, (1 - Beta2) * dlr);
            numeratorAccum += dlr * dot(update.flatten(), s.flatten()).item<float>();
            s.mul_(sqrtBeta2).add_(update, (1 - sqrtBeta2) * dlr);
            skL1 += s.abs().sum().item<float>();
        }
        if (skL1 == 0) return;   // dadaptation returns before storing the numerator, d and k
        double numeratorWeighted = sqrtBeta2 * NumeratorWeighted + (1 - sqrtBeta2) * numeratorAccum;
        if (lr > 0) d = Math.Max(d, numeratorWeighted / ((1 - sqrtBeta2) * skL1));
        NumeratorWeighted = numeratorWeighted;
        D = d;
        K += 1;
    }
}
