using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LoraBake.Networks;

/// <summary>
/// LyCORIS LoHa (<c>lycoris/modules/loha.py</c>, no Tucker): ΔW = ((w1a@w1b) ⊙ (w2a@w2b))·alpha/dim,
/// reshaped to the layer's weight; <c>w*_a [out,r]</c>, <c>w*_b [r, in·kh·kw]</c>. Init as LyCORIS:
/// w1_b, w2_b ~ N(0,1), w1_a ~ N(0,0.1), w2_a = 0 (so ΔW starts at 0). The forward adds
/// <c>op(x, ΔW·m·scale)</c> (LyCORIS' bypass form; equal to running the layer with W + m·scale·ΔW).
/// </summary>
public sealed class LoHaModule : NetworkModule
{
    public Parameter W1A { get; }
    public Parameter W1B { get; }
    public Parameter W2A { get; }
    public Parameter W2B { get; }

    public LoHaModule(string loraName, TargetLayer target, bool isTextEncoder, int dim, double alpha, ScalarType dtype = ScalarType.Float32)
        : base(loraName, target, isTextEncoder, dim, alpha)
    {
        var device = target.Weight.device;
        long fanIn = target.InFeatures * target.Kernel.H * target.Kernel.W;
        W1A = new Parameter(empty(new[] { target.OutFeatures, (long)dim }, dtype, device));
        W1B = new Parameter(empty(new[] { (long)dim, fanIn }, dtype, device));
        W2A = new Parameter(empty(new[] { target.OutFeatures, (long)dim }, dtype, device));
        W2B = new Parameter(empty(new[] { (long)dim, fanIn }, dtype, device));
        register_parameter("hada_w1_a", W1A);
        register_parameter("hada_w1_b", W1B);
        register_parameter("hada_w2_a", W2A);
        register_parameter("hada_w2_b", W2B);
        using (no_grad())
        {
            // Same order as LyCORIS, so a seeded generator draws the same numbers.
            init.normal_(W1B, std: 1);
            init.normal_(W1A, std: 0.1);
            init.normal_(W2B, std: 1);
            init.constant_(W2A, 0);
        }
    }

    protected override ScalarType ParameterDtype => W1A.dtype;

    public override Tensor RawDeltaWeight()
    {
        var w = W1A.matmul(W1B) * W2A.matmul(W2B);
        return Target.IsConv ? w.reshape(Target.OutFeatures, Target.InFeatures, Target.Kernel.H, Target.Kernel.W) : w;
    }

    protected override Tensor DeltaOutput(Tensor x, double factor) => Target.Apply(x, RawDeltaWeight() * factor);
}
