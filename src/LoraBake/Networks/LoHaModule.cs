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
        long fanIn = target.InFeatures * target.Kernel.H * target.Kernel.W;
        // Drawn on the CPU, whose generator torch.manual_seed(seed) makes the same everywhere, then moved to the
        // model's device: a run starts from the same weights on CPU and CUDA.
        var w1a = empty(new[] { target.OutFeatures, (long)dim }, dtype);
        var w1b = empty(new[] { (long)dim, fanIn }, dtype);
        var w2a = empty(new[] { target.OutFeatures, (long)dim }, dtype);
        var w2b = empty(new[] { (long)dim, fanIn }, dtype);
        using (no_grad())
        {
            // Same order as LyCORIS, so a seeded generator draws the same numbers.
            init.normal_(w1b, std: 1);
            init.normal_(w1a, std: 0.1);
            init.normal_(w2b, std: 1);
            init.constant_(w2a, 0);
        }
        var device = target.Weight.device;
        W1A = new Parameter(Moved(w1a, device));
        W1B = new Parameter(Moved(w1b, device));
        W2A = new Parameter(Moved(w2a, device));
        W2B = new Parameter(Moved(w2b, device));
        register_parameter("hada_w1_a", W1A);
        register_parameter("hada_w1_b", W1B);
        register_parameter("hada_w2_a", W2A);
        register_parameter("hada_w2_b", W2B);
    }

    static Tensor Moved(Tensor t, Device device)
    {
        if (device.type == DeviceType.CPU) return t;
        using (t) return t.to(device);
    }

    protected override ScalarType ParameterDtype => W1A.dtype;

    public override Tensor RawDeltaWeight()
    {
        var w = W1A.matmul(W1B) * W2A.matmul(W2B);
        return Target.IsConv ? w.reshape(Target.OutFeatures, Target.InFeatures, Target.Kernel.H, Target.Kernel.W) : w;
    }

    protected override Tensor DeltaOutput(Tensor x, double factor) => Target.Apply(x, RawDeltaWeight() * factor);
}
