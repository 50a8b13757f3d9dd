using LoraBake.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// How a model's frozen base weights are held (<see cref="Storage"/>) and computed with (<see cref="Compute"/>). Equal
/// almost everywhere. bf16 on a CPU whose bf16 kernels failed the numerics self-test is held in bf16 (half the memory
/// of fp32, the same weights a bf16 model has) and computed in fp32: each Linear and Conv2d widens its weight for its
/// own product (<see cref="WidenedWeights"/>), and everything else (norms, embeddings) is widened once at load.
/// kohya's nearest setting is <c>--fp8_base</c> (weights held in fp8, math in the mixed-precision dtype).
/// </summary>
public readonly record struct FrozenPrecision(ScalarType Storage, ScalarType Compute)
{
    public bool Widened => Storage != Compute;

    /// <summary>What holding the base weights in <paramref name="storage"/> means on a <paramref name="device"/> of this machine.</summary>
    public static FrozenPrecision For(ScalarType storage, DeviceType device = DeviceType.CPU) =>
        storage == ScalarType.BFloat16 && device == DeviceType.CPU && !NumericsGuard.Current.Bf16Usable
            ? new(storage, ScalarType.Float32)
            : new(storage, storage);

    /// <summary>For logs and benchmark lines: "bf16", or "bf16 held, fp32 math".</summary>
    public string Describe => Widened ? $"{Name(Storage)} held, {Name(Compute)} math" : Name(Storage);

    static string Name(ScalarType t) => t switch
    {
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "fp16",
        _ => "fp32",
    };

    /// <summary>
    /// Widens every weight of <paramref name="model"/> (built and loaded in <see cref="Storage"/>) to <see cref="Compute"/>,
    /// except those of the Linear and Conv2d layers, which widen per call. A no-op when nothing is widened.
    /// </summary>
    public void WidenAllButProducts(nn.Module model)
    {
        if (!Widened) return;
        foreach (var (_, module) in model.named_modules())
        {
            if (module is GuardedLinear or GuardedConv2d || module.named_children().Any()) continue;
            if (module.parameters(recurse: false).Any()) module.to(Compute);
        }
    }
}
