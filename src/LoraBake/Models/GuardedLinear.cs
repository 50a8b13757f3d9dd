using LoraBake.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// The models' Linear layer: TorchSharp's <c>Linear</c> parameters (same names, same initialisation, so checkpoints
/// and the built-in model's bytes are unchanged) with a forward pass that also takes weights held narrower than the
/// activations (<see cref="WidenedWeights"/>: bf16 storage, fp32 math where this CPU's bf16 kernels are wrong).
/// TorchSharp's Linear computes only in its weights' dtype, hence a layer of our own, as <see cref="GuardedConv2d"/>.
/// </summary>
public sealed class GuardedLinear : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter? bias;
    public long in_features => weight.shape[1];
    public long out_features => weight.shape[0];

    public GuardedLinear(long inFeatures, long outFeatures, bool hasBias = true, Device? device = null, ScalarType? dtype = null) : base("Linear")
    {
        // Built through TorchSharp's Linear so the random initialisation consumes the generator exactly as before. Its
        // parameters are taken over, not copied: a copy per layer left the freed originals as holes in the native heap
        // that a training step's larger activations could not reuse (+0.4 GB peak at SD1.5, bf16 with checkpointing).
        var template = nn.Linear(inFeatures, outFeatures, hasBias: hasBias, device: device, dtype: dtype);
        weight = template.weight!;
        bias = hasBias ? template.bias! : null;
        register_parameter("weight", weight);
        if (bias is not null) register_parameter("bias", bias);
    }

    public override Tensor forward(Tensor input) => WidenedWeights.Linear(input, weight, bias);
}
