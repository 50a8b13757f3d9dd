using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>transformers' CLIPMLP: fc1 → activation (quick_gelu for CLIP ViT-L) → fc2.</summary>
public sealed class CLIPMLP : nn.Module<Tensor, Tensor>
{
    readonly string _act;
#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly GuardedLinear fc1, fc2;
#pragma warning restore IDE1006

    public CLIPMLP(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(CLIPMLP))
    {
        _act = config.HiddenAct;
        if (_act is not ("quick_gelu" or "gelu"))
            throw new NotSupportedException($"CLIP text activation '{_act}' is not supported (quick_gelu, gelu).");
        fc1 = new GuardedLinear(config.HiddenSize, config.IntermediateSize, hasBias: true, device: device, dtype: dtype);
        fc2 = new GuardedLinear(config.IntermediateSize, config.HiddenSize, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var h = fc1.call(hidden);
        // quick_gelu: x * sigmoid(1.702 x), as transformers' QuickGELUActivation.
        h = _act == "quick_gelu" ? h * sigmoid(h * 1.702) : nn.functional.gelu(h);
        return fc2.call(h).MoveToOuterDisposeScope();
    }
}
