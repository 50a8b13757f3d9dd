using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>diffusers' TimestepEmbedding: linear_1 → SiLU → linear_2.</summary>
public sealed class TimestepEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly GuardedLinear linear_1;
    private readonly GuardedLinear linear_2;

    public TimestepEmbedding(int inChannels, int timeEmbedDim, Device? device = null, ScalarType? dtype = null)
        : base(nameof(TimestepEmbedding))
    {
        linear_1 = new GuardedLinear(inChannels, timeEmbedDim, hasBias: true, device: device, dtype: dtype);
        linear_2 = new GuardedLinear(timeEmbedDim, timeEmbedDim, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor sample)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.silu(linear_1.call(sample));
        return linear_2.call(h).MoveToOuterDisposeScope();
    }
}
