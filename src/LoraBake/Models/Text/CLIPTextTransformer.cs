using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>What the text encoder returns; dispose it to free the tensors it holds.</summary>
public sealed class ClipTextOutput : IDisposable
{
    /// <summary>[batch, tokens, hidden], after final_layer_norm.</summary>
    public required Tensor LastHiddenState { get; init; }
    /// <summary>[batch, hidden]: last_hidden_state at each sequence's first end-of-text token.</summary>
    public required Tensor PooledOutput { get; init; }
    /// <summary>Embeddings then each layer's output (no final_layer_norm), when asked for; else empty.</summary>
    public IReadOnlyList<Tensor> HiddenStates { get; init; } = [];

    public void Dispose()
    {
        LastHiddenState.Dispose();
        PooledOutput.Dispose();
        foreach (var h in HiddenStates) h.Dispose();
    }
}

/// <summary>transformers' CLIPTextTransformer (the <c>text_model.</c> of CLIPTextModel).</summary>
public sealed class CLIPTextTransformer : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly CLIPTextEmbeddings embeddings;
    readonly CLIPEncoder encoder;
    readonly LayerNorm final_layer_norm;
#pragma warning restore IDE1006
    readonly int _eosTokenId;

    public CLIPTextTransformer(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(CLIPTextTransformer))
    {
        _eosTokenId = config.EosTokenId;
        embeddings = new CLIPTextEmbeddings(config, device, dtype);
        encoder = new CLIPEncoder(config, device, dtype);
        final_layer_norm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var h = encoder.Forward(embeddings.call(inputIds), encoder.Count, null);
        return final_layer_norm.Routed(h).MoveToOuterDisposeScope();
    }

    public ClipTextOutput Forward(Tensor inputIds, bool outputHiddenStates)
    {
        using var scope = NewDisposeScope();
        var states = outputHiddenStates ? new List<Tensor>() : null;
        var h = encoder.Forward(embeddings.call(inputIds), encoder.Count, states);
        var last = final_layer_norm.Routed(h);
        var pooled = Pool(last, inputIds);
        return new ClipTextOutput
        {
            LastHiddenState = last.MoveToOuterDisposeScope(),
            PooledOutput = pooled.MoveToOuterDisposeScope(),
            HiddenStates = states?.Select(s => s.MoveToOuterDisposeScope()).ToList() ?? [],
        };
    }

    /// <summary>
    /// Clip skip as kohya and webui apply it: <c>final_layer_norm(hidden_states[-clipSkip])</c>; 1 = last_hidden_state.
    /// Only the layers needed are run.
    /// </summary>
    public Tensor ForwardClipSkip(Tensor inputIds, int clipSkip)
    {
        if (clipSkip < 1 || clipSkip > encoder.Count)
            throw new ArgumentOutOfRangeException(nameof(clipSkip), clipSkip, $"clip skip must be 1..{encoder.Count}.");
        using var scope = NewDisposeScope();
        var h = encoder.Forward(embeddings.call(inputIds), encoder.Count + 1 - clipSkip, null);
        return final_layer_norm.Routed(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// transformers 4.39 with eos_token_id ≠ 2 pools at the first position whose id is the EOS id
    /// (<c>(input_ids == eos).int().argmax(-1)</c>); with SD's padded input that is also where the legacy
    /// <c>input_ids.argmax(-1)</c> lands, as 49407 is the largest id.
    /// </summary>
    Tensor Pool(Tensor last, Tensor inputIds)
    {
        var eosPos = inputIds.eq(_eosTokenId).to_type(ScalarType.Int32).argmax(-1);
        var rows = arange(inputIds.shape[0], dtype: ScalarType.Int64, device: inputIds.device);
        return last[rows, eosPos];
    }
}
