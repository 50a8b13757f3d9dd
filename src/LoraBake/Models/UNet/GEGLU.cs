using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>diffusers' GEGLU: proj to 2·dimOut, split into (value, gate), return value · GELU(gate) (exact erf GELU).</summary>
public sealed class GEGLU : nn.Module<Tensor, Tensor>
{
    private readonly GuardedLinear proj;

    public GEGLU(int dimIn, int dimOut, Device? device = null, ScalarType? dtype = null) : base(nameof(GEGLU))
    {
        proj = new GuardedLinear(dimIn, dimOut * 2, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var parts = proj.call(hidden).chunk(2, dim: -1);
        return (parts[0] * nn.functional.gelu(parts[1])).MoveToOuterDisposeScope();
    }
}
