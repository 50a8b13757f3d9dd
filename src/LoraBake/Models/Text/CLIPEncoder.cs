using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>transformers' CLIPEncoder: the stack of <see cref="CLIPEncoderLayer"/>s.</summary>
public sealed class CLIPEncoder : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly ModuleList<CLIPEncoderLayer> layers;
#pragma warning restore IDE1006

    public CLIPEncoder(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(CLIPEncoder))
    {
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers)
            .Select(_ => new CLIPEncoderLayer(config, device, dtype)).ToArray());
        RegisterComponents();
    }

    public int Count => layers.Count;

    public override Tensor forward(Tensor hidden) => Forward(hidden, layers.Count, null);

    /// <summary>
    /// Runs the first <paramref name="layerCount"/> layers. When <paramref name="hiddenStates"/> is given it
    /// receives the input and every layer's output (transformers' <c>hidden_states</c>), moved out of this scope.
    /// </summary>
    public Tensor Forward(Tensor hidden, int layerCount, List<Tensor>? hiddenStates)
    {
        using var scope = NewDisposeScope();
        var h = hidden.alias();
        hiddenStates?.Add(h.alias().MoveToOuterDisposeScope());
        for (int i = 0; i < layerCount; i++)
        {
            h = layers[i].call(h);
            hiddenStates?.Add(h.alias().MoveToOuterDisposeScope());
        }
        return h.MoveToOuterDisposeScope();
    }
}
