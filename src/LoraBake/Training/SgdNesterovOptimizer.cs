using LoraBake.Networks;

using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// torch.optim.SGD with nesterov=True, as sd-scripts' <c>SGDNesterov</c> builds it (momentum 0.9 unless given):
/// <c>g ← g + wd·p</c>; <c>b ← g</c> on the first step, else <c>b ← μ·b + (1 − dampening)·g</c>;
/// <c>p ← p − lr·(g + μ·b)</c>.
/// </summary>
public sealed class SgdNesterovOptimizer : NetworkOptimizer
{
    public double Momentum { get; }
    public double WeightDecay { get; }

    public SgdNesterovOptimizer(IEnumerable<NetworkParamGroup> groups, double momentum = 0.9, double weightDecay = 0.0)
        : base(groups)
    {
        // torch: "Nesterov momentum requires a momentum and zero dampening".
        if (!(momentum > 0)) throw new Runtime.UserError($"SGDNesterov: momentum must be above 0 (got {momentum}); kohya's default is 0.9.");
        Momentum = momentum; WeightDecay = weightDecay;
    }

    public override string Description =>
        $"torch.optim.sgd.SGD(nesterov=True, momentum={AdamWOptimizer.F(Momentum)}, weight_decay={AdamWOptimizer.F(WeightDecay)})";

    protected override void StepCore()
    {
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad) = (slot.P, slot.Grad);
            var d = WeightDecay != 0 ? grad.add(p, WeightDecay) : grad;
            bool first = !HasState(slot);
            var buf = StateTensor(slot, "momentum_buffer", () => d.clone());
            if (!first) buf.mul_(Momentum).add_(d);
            NextStep(slot);
            p.add_(d.add(buf, Momentum), -slot.Group.Lr);
        }
    }
}
