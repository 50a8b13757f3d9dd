using LoraBake.Networks;

using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// bitsandbytes' AdamW8bit (block-wise, as sd-scripts' default <c>AdamW8bit</c>): AdamW whose two moments are
/// stored 8-bit between steps (<see cref="BlockwiseQuantizer"/>: exp_avg with the signed dynamic code,
/// exp_avg_sq with the unsigned one, one fp32 absmax per 256 values). Each step dequantises, updates the
/// moments in fp32, takes the AdamW step with those fp32 moments, and re-quantises them. Parameters with
/// fewer than min_8bit_size (4096) values keep 32-bit state, as bitsandbytes does. State is about 2 bytes
/// per value plus 8 per block, against 8 bytes per value for 32-bit AdamW.
/// </summary>
public sealed class AdamW8bitOptimizer : NetworkOptimizer
{
    public const int MinBlockwiseSize = 4096;
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public int Min8bitSize { get; }

    // Built on first use: a plan-time check constructs the optimizer without touching torch.
    static readonly Lazy<BlockwiseQuantizer> SignedCode = new(() => new BlockwiseQuantizer(signed: true));
    static readonly Lazy<BlockwiseQuantizer> UnsignedCode = new(() => new BlockwiseQuantizer(signed: false));
    static BlockwiseQuantizer Signed => SignedCode.Value;
    static BlockwiseQuantizer Unsigned => UnsignedCode.Value;

    /// <summary>bitsandbytes' defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2, min_8bit_size 4096.</summary>
    public AdamW8bitOptimizer(IEnumerable<NetworkParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 1e-2, int min8bitSize = MinBlockwiseSize)
        : base(groups)
    {
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Min8bitSize = min8bitSize;
    }

    public override string Description =>
        $"bitsandbytes.optim.adamw.AdamW8bit(betas=({AdamWOptimizer.F(Beta1)}, {AdamWOptimizer.F(Beta2)}), eps={AdamWOptimizer.F(Eps)}, weight_decay={AdamWOptimizer.F(WeightDecay)})";

    /// <summary>Bytes of optimizer state held now (codes, absmax and any 32-bit state).</summary>
    public long StateBytes => State.Values.SelectMany(d => d.Values).Sum(t => t.numel() * t.ElementSize);

    protected override void StepCore()
    {
        foreach (var slot in ParamsWithGrad())
        {
            var (p, grad, lr) = (slot.P, slot.Grad, slot.Group.Lr);
            long step = NextStep(slot);
            bool eightBit = p.numel() >= Min8bitSize;

            Tensor m, v;
            if (eightBit)
            {
                if (!HasState(slot))
                {
                    var (c1, a1) = Signed.Quantize(zeros_like(p));
                    var (c2, a2) = Unsigned.Quantize(zeros_like(p));
                    StateTensor(slot, "state1", () => c1);
                    StateTensor(slot, "absmax1", () => a1);
                    StateTensor(slot, "state2", () => c2);
                    StateTensor(slot, "absmax2", () => a2);
                }
                var st = State[slot.Key];
                m = Signed.Dequantize(st["state1"], st["absmax1"]);
                v = Unsigned.Dequantize(st["state2"], st["absmax2"]);
            }
            else
            {
                m = StateTensor(slot, "exp_avg");
                v = StateTensor(slot, "exp_avg_sq");
            }

            m.mul_(Beta1).add_(grad, 1 - Beta1);
            v.mul_(Beta2).addcmul_(grad, grad, 1 - Beta2);
            double c1n = 1 - Math.Pow(Beta1, step);
            double c2n = Math.Sqrt(1 - Math.Pow(Beta2, step));
            p.mul_(1 - lr * WeightDecay);
            p.addcdiv_(m, (v.sqrt() / c2n).add_(Eps), -lr / c1n);

            if (eightBit)
            {
                var st = State[slot.Key];
                var (q1, b1) = Signed.Quantize(m);
                var (q2, b2) = Unsigned.Quantize(v);
                st["state1"].copy_(q1); st["absmax1"].copy_(b1);
                st["state2"].copy_(q2); st["absmax2"].copy_(b2);
            }
        }
    }
}
