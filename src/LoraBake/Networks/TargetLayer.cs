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
        switch (module)
        {
            case Linear linear:
                Weight = linear.weight!;
                OutFeatures = Weight.shape[0];
                InFeatures = Weight.shape[1];
                Kernel = (1, 1);
                Stride = new[] { 1L, 1L };
                Padding = new[] { 0L, 0L };
                Dilation = new[] { 1L, 1L };
                break;
            case GuardedLinear linear:
                Weight = linear.weight;
                OutFeatures = Weight.shape[0];
                InFeatures = Weight.shape[1];
                Kernel = (1, 1);
                Stride = new[] { 1L, 1L };
                Padding = new[] { 0L, 0L };
                Dilation = new[] { 1L, 1L };
                break;
            case Conv2d conv:
                if (conv.groups != 1)
                    throw new NotSupportedException("Adapters on grouped convolutions are not supported.");
                IsConv = true;
                Weight = conv.weight!;
                OutFeatures = Weight.shape[0];
                InFeatures = Weight.shape[1];
                Kernel = (Weight.shape[2], Weight.shape[3]);
                Stride = conv.stride.ToArray();
                Padding = conv.padding?.ToArray() ?? new[] { 0L, 0L };
                Dilation = conv.dilation.ToArray();
                break;
            case GuardedConv2d conv:
                if (conv.groups != 1)
                    throw new NotSupportedException("Adapters on grouped convolutions are not supported.");
                IsConv = true;
                Weight = conv.weight;
                OutFeatures = Weight.shape[0];
                InFeatures = Weight.shape[1];
                Kernel = (Weight.shape[2], Weight.shape[3]);
                Stride = conv.stride.ToArray();
                Padding = conv.padding.ToArray();
                Dilation = conv.dilation.ToArray();
                break;
            default:
                throw new ArgumentException($"Adapters attach to Linear or Conv2d, not {module.GetType().Name}.", nameof(module));
        }
    }

    /// <summary>This layer's operation with <paramref name="weight"/> and no bias (used to add ΔW·x).</summary>
    public Tensor Apply(Tensor x, Tensor weight) =>
        IsConv
            ? GuardedConv.Conv2d(x, weight, null, Stride, Padding, Dilation)
            : functional.linear(x, weight);
}
