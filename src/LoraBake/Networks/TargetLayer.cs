using LoraBake.Models;
using LoraBake.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LoraBake.Networks;

/// <summary>
/// The frozen Linear or Conv2d an adapter attaches to, with what the adapter needs to know about it:
/// its weight and, for convolutions, kernel, stride, padding and dilation.
/// </summary>
public sealed class TargetLayer
{
    public Module<Tensor, Tensor> Module { get; }
    public Parameter Weight { get; }
    public bool IsConv { get; }
    public long InFeatures { get; }
    public long OutFeatures { get; }
    /// <summary>(kh, kw); (1, 1) for Linear.</summary>
    public (long H, long W) Kernel { get; }
    public long[] Stride { get; }
    public long[] Padding { get; }
    public long[] Dilation { get; }

    public bool IsKxKConv => IsConv && (Kernel.H != 1 || Kernel.W != 1);

    public TargetLayer(Module<Tensor, Tensor> module)
    {
        Module = module;
        long[] one = [1, 1], none = [0, 0];
        (Weight, IsConv, Stride, Padding, Dilation, long groups) = module switch
        {
            GuardedLinear linear => (linear.weight, false, one, none, one, 1L),
            GuardedConv2d conv => (conv.weight, true, conv.stride.ToArray(), conv.padding.ToArray(), conv.dilation.ToArray(), conv.groups),
            _ => throw new ArgumentException($"Adapters attach to the models' Linear or Conv2d layers, not {module.GetType().Name}.", nameof(module)),
        };
        if (groups != 1) throw new NotSupportedException("Adapters on grouped convolutions are not supported.");
        OutFeatures = Weight.shape[0];
        InFeatures = Weight.shape[1];
        Kernel = IsConv ? (Weight.shape[2], Weight.shape[3]) : (1, 1);
    }

    /// <summary>This layer's operation with <paramref name="weight"/> and no bias (used to add ΔW·x).</summary>
    public Tensor Apply(Tensor x, Tensor weight) =>
        IsConv
            ? GuardedConv.Conv2d(x, weight, null, Stride, Padding, Dilation)
            : functional.linear(x, weight);
}
