using LoraBake.Networks;

using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// transformers.optimization.Adafactor (Shazeer &amp; Stern), sd-scripts' <c>AdaFactor</c>. Second moments are
/// factored into row and column means for parameters of 2 or more dimensions; the update is RMS-clipped
/// at clip_threshold; with relative_step (kohya's default) the step size is min(1e-2, 1/√t) — or 1e-6·t with
/// warmup_init — times max(ε₂, RMS(p)) when scale_parameter, and the configured learning rates and scheduler
/// are ignored, as kohya does. Without relative_step the group's LR (× RMS(p) when scale_parameter) is used.
/// </summary>
public sealed class AdafactorOptimizer : NetworkOptimizer
{
    public double Eps1 { get; }
    public double Eps2 { get; }
    public double ClipThreshold { get; }
    public double DecayRate { get; }
    public double? Beta1 { get; }
    public double WeightDecay { get; }
    public bool ScaleParameter { get; }
    public bool RelativeStep { get; }
    public bool WarmupInit { get; }

    /// <summary>transformers' defaults: eps (1e-30, 1e-3), clip_threshold 1, decay_rate −0.8, no beta1, scale_parameter, relative_step.</summary>
    public AdafactorOptimizer(IEnumerable<NetworkParamGroup> groups, double eps1 = 1e-30, double eps2 = 1e-3, double clipThreshold = 1.0,
        double decayRate = -0.8, double? beta1 = null, double weightDecay = 0.0, bool scaleParameter = true, bool relativeStep = true, bool warmupInit = false)
        : base(groups)
    {
        // kohya turns relative_step on when warmup_init asks for it (transformers would refuse the pair).
        if (warmupInit) relativeStep = true;
        Eps1 = eps1; Eps2 = eps2; ClipThreshold = clipThreshold; DecayRate = decayRate; Beta1 = beta1;
        WeightDecay = weightDecay; ScaleParameter = scaleParameter; RelativeStep = relativeStep; WarmupInit = warmupInit;
    }

    public override string Description =>
        $"transformers.optimization.Adafactor(scale_parameter={Py(ScaleParameter)}, relative_step={Py(RelativeStep)}, warmup_init={Py(WarmupInit)})";

    static string Py(bool b) => b ? "True" : "False";

    static Tensor Rms(Tensor t) => t.norm() / Math.Sqrt(t.numel());

    protected override void StepCore()
    {
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad) = (slot.P, slot.Grad);
            var shape = grad.shape;
            bool factored = shape.Length >= 2;
            long step = NextStep(slot);

            double rms = Rms(p).item<float>();
            double rel = RelativeStep ? Math.Min(WarmupInit ? 1e-6 * step : 1e-2, 1.0 / Math.Sqrt(step)) : slot.Group.Lr;
            double lr = (ScaleParameter ? Math.Max(Eps2, rms) : 1.0) * rel;
            double beta2t = 1.0 - Math.Pow(step, DecayRate);
            var update = grad.pow(2).add_(Eps1);
            if (factored)
            {
                var row = StateTensor(slot, "exp_avg_sq_row", () => zeros(shape[..^1], dtype: grad.dtype));
                var col = StateTensor(slot, "exp_avg_sq_col", () => zeros(shape[..^2].Append(shape[^1]).ToArray(), dtype: grad.dtype));
                row.mul_(beta2t).add_(update.mean([-1]), 1.0 - beta2t);
                col.mul_(beta2t).add_(update.mean([-2]), 1.0 - beta2t);
                var rFactor = (row / row.mean([-1], keepdim: true)).rsqrt_().unsqueeze(-1);
                var cFactor = col.unsqueeze(-2).rsqrt();
                update = rFactor.mul(cFactor).mul_(grad);
            }
            else
            {
                var v = StateTensor(slot, "exp_avg_sq", () => zeros_like(grad));
                v.mul_(beta2t).add_(update, 1.0 - beta2t);
                update = v.rsqrt().mul_(grad);
            }
            update.div_((Rms(update) / ClipThreshold).clamp_(min: 1.0));
            update.mul_(lr);
            if (Beta1 is { } b1)
            {
                var m = StateTensor(slot, "exp_avg", () => zeros_like(grad));
                m.mul_(b1).add_(update, 1 - b1);
                update = m;
            }
            if (WeightDecay != 0) p.add_(p, -WeightDecay * lr);
            p.add_(-update);
        }
    }
}
