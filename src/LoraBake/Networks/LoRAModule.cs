using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LoraBake.Networks;

/// <summary>
/// kohya's LoRAModule (<c>networks/lora.py</c>): <c>y = W·x + up(down(x))·multiplier·alpha/dim</c>.
/// Linear: down <c>[r,in]</c>, up <c>[out,r]</c>. Conv2d: down keeps the layer's kernel, stride,
/// padding and dilation <c>[r,in,kh,kw]</c>; up is 1×1 <c>[out,r,1,1]</c>. down is
/// kaiming_uniform(a=√5), up zeros, so a new module changes nothing.
/// </summary>
public sealed class LoRAModule : NetworkModule
{
    private readonly Module<Tensor, Tensor> lora_down;
    private readonly Module<Tensor, Tensor> lora_up;

    public LoRAModule(string loraName, TargetLayer target, bool isTextEncoder, int dim, double alpha, ScalarType dtype = ScalarType.Float32)
        : base(loraName, target, isTextEncoder, dim, alpha)
    {
        // Built and initialised on the CPU, whose generator torch.manual_seed(seed) makes the same on every machine,
        // then moved to the model's device: a run starts from the same weights on CPU and CUDA.
        var device = CPU;
        if (target.IsConv)
        {
            lora_down = new GuardedConv2d(target.InFeatures, dim, target.Kernel, (target.Stride[0], target.Stride[1]),
                (target.Padding[0], target.Padding[1]), (target.Dilation[0], target.Dilation[1]),
                bias: false, device: device, dtype: dtype);
            lora_up = new GuardedConv2d(dim, target.OutFeatures, (1, 1), (1, 1), (0, 0), (1, 1), bias: false, device: device, dtype: dtype);
        }
        else
        {
            lora_down = Linear(target.InFeatures, dim, hasBias: false, device: device, dtype: dtype);
            lora_up = Linear(dim, target.OutFeatures, hasBias: false, device: device, dtype: dtype);
        }
        register_module("lora_down", lora_down);
        register_module("lora_up", lora_up);
        using (no_grad())
        {
            init.kaiming_uniform_(Down, a: Math.Sqrt(5));
            init.zeros_(Up);
        }
        if (target.Weight.device.type != DeviceType.CPU) this.to(target.Weight.device);
    }

    /// <summary><c>lora_down.weight</c>.</summary>
    public Parameter Down => lora_down.get_parameter("weight")!;
    /// <summary><c>lora_up.weight</c>.</summary>
    public Parameter Up => lora_up.get_parameter("weight")!;

    protected override ScalarType ParameterDtype => Down.dtype;

    protected override Tensor DeltaOutput(Tensor x, double factor) => lora_up.call(lora_down.call(x)) * factor;

    /// <summary>
    /// A Linear adapter on a half-precision layer computes in the layer's dtype (kohya under autocast does the same),
    /// and scales the rank-r intermediate rather than the layer-wide output: widening the input, two fp32 products
    /// and a narrowing of the output cost as much as the frozen layer itself at SD1.5's 4,096 tokens.
    /// Convolution adapters keep the widened fp32 path.
    /// </summary>
    protected override Tensor DeltaOutputMixed(Tensor x, double factor) => Target.IsConv
        ? base.DeltaOutputMixed(x, factor)
        : functional.linear(functional.linear(x, Down.to(x.dtype)) * factor, Up.to(x.dtype));

    /// <summary>up ∘ down as a weight: <c>up@down</c> for Linear and 1×1, <c>einsum("or,rikl->oikl")</c> for k×k.</summary>
    public override Tensor RawDeltaWeight()
    {
        var up = Up.flatten(1);                      // [out, r]
        var down = Down;
        if (!Target.IsConv) return up.matmul(down);
        var w = up.matmul(down.flatten(1));          // [out, in·kh·kw]
        return w.reshape(Target.OutFeatures, Target.InFeatures, Target.Kernel.H, Target.Kernel.W);
    }
}
