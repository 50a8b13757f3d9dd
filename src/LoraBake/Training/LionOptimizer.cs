using LoraBake.Networks;

using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Lion as in lion-pytorch (sd-scripts' <c>Lion</c>): <c>p ← p·(1 − lr·wd)</c>;
/// <c>p ← p − lr·sign(β1·m + (1−β1)·g)</c>; <c>m ← β2·m + (1−β2)·g</c>.
/// </summary>
public sealed class LionOptimizer : NetworkOptimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double WeightDecay { get; }

    /// <summary>lion-pytorch defaults: betas (0.9, 0.99), weight_decay 0.</summary>
    public LionOptimizer(IEnumerable<NetworkParamGroup> groups, double beta1 = 0.9, double beta2 = 0.99, double weightDecay = 0.0)
        : base(groups)
    {
        Beta1 = beta1; Beta2 = beta2; WeightDecay = weightDecay;
    }

    public override string Description =>
        $"lion_pytorch.lion_pytorch.Lion(betas=({AdamWOptimizer.F(Beta1)}, {AdamWOptimizer.F(Beta2)}), weight_decay={AdamWOptimizer.F(WeightDecay)})";

    protected override void StepCore()
    {
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad, lr) = (slot.P, slot.Grad, slot.Group.Lr);
            var m = StateTensor(slot, "exp_avg");
            NextStep(slot);

            p.mul_(1.0 - lr * WeightDecay);
            var update = (m * Beta1).add_(grad, 1.0 - Beta1).sign_();
            p.add_(update, -lr);
            m.mul_(Beta2).add_(grad, 1.0 - Beta2);
        }
    }
}
