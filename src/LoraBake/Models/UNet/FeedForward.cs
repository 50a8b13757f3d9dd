using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' FeedForward with activation "geglu": net = [GEGLU(dim → 4·dim), Dropout, Linear(4·dim → dim)],
/// giving the parameter names `ff.net.0.proj` and `ff.net.2`.
/// </summary>
public sealed class FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> net;

    public FeedForward(int dim, int mult = 4, Device? device = null, ScalarType? dtype = null) : base(nameof(FeedForward))
    {
        int inner = dim * mult;
        net = nn.ModuleList<nn.Module<Tensor, Tensor>>(
            new GEGLU(dim, inner, device, dtype),
            nn.Dropout(0.0),
            new GuardedLinear(inner, dim, hasBias: true, device: device, dtype: dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var h = hidden;
        foreach (var layer in net) h = layer.call(h);
        return h.MoveToOuterDisposeScope();
    }
}
