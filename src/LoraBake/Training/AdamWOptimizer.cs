using System.Globalization;
using LoraBake.Networks;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// torch.optim.AdamW (single-tensor path, amsgrad off): decoupled weight decay <c>p ← p·(1 − lr·wd)</c>,
/// then Adam with bias correction and eps added outside the square root.
/// </summary>
public sealed class AdamWOptimizer : NetworkOptimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }

    /// <summary>Defaults are torch's: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01.</summary>
    public AdamWOptimizer(IEnumerable<NetworkParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        : base(groups)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
    }

    public override string Description =>
        $"torch.optim.adamw.AdamWOptimizer(betas=({F(Beta1)}, {F(Beta2)}), eps={F(Eps)}, weight_decay={F(WeightDecay)})";

    internal static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    protected override void StepCore()
    {
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad, lr) = (slot.P, slot.Grad, slot.Group.Lr);
            var m = StateTensor(slot, "exp_avg");
            var v = StateTensor(slot, "exp_avg_sq");
            long step = NextStep(slot);

            p.mul_(1.0 - lr * WeightDecay);
            m.lerp_(grad, 1.0 - Beta1);
            v.mul_(Beta2).addcmul_(grad, grad, 1.0 - Beta2);
            double biasCorrection1 = 1.0 - Math.Pow(Beta1, step);
            double biasCorrection2Sqrt = Math.Sqrt(1.0 - Math.Pow(Beta2, step));
            double stepSize = lr / biasCorrection1;
            var denom = (v.sqrt() / biasCorrection2Sqrt).add_(Eps);
            p.addcdiv_(m, denom, -stepSize);
        }
    }
}
