using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>transformers' CLIPEncoderLayer: pre-norm attention and MLP, each with a residual.</summary>
public sealed class CLIPEncoderLayer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly CLIPAttention self_attn;
    readonly LayerNorm layer_norm1, layer_norm2;
    readonly CLIPMLP mlp;
#pragma warning restore IDE1006

    public CLIPEncoderLayer(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(CLIPEncoderLayer))
    {
        self_attn = new CLIPAttention(config, device, dtype);
        layer_norm1 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        mlp = new CLIPMLP(config, device, dtype);
        layer_norm2 = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var h = hidden + self_attn.call(layer_norm1.Routed(hidden));
        h = h + mlp.call(layer_norm2.Routed(h));
        return h.MoveToOuterDisposeScope();
    }
}
