using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>
/// transformers' CLIPTextEmbeddings: token embedding plus learned absolute position embedding. The
/// <c>position_ids</c> buffer (non-persistent in transformers ≥4.31, present in older files) is computed instead.
/// </summary>
public sealed class CLIPTextEmbeddings : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly Embedding token_embedding, position_embedding;
#pragma warning restore IDE1006
    readonly int _maxPositions;

    public CLIPTextEmbeddings(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(CLIPTextEmbeddings))
    {
        _maxPositions = config.MaxPositionEmbeddings;
        token_embedding = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        position_embedding = nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        long t = inputIds.shape[1];
        if (t > _maxPositions)
            throw new ArgumentException($"Sequence length {t} exceeds the {_maxPositions} position embeddings.");
        var positions = arange(t, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var result = token_embedding.Routed(inputIds) + position_embedding.Routed(positions);
        return result.MoveToOuterDisposeScope();
    }
}
