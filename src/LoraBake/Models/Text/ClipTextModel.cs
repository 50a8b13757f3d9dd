using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>
/// transformers' CLIPTextModel: parameter names equal its state-dict keys
/// (<c>text_model.encoder.layers.0.self_attn.q_proj.weight</c>...), from which kohya's LoRA names derive
/// (<c>lora_te_text_model_encoder_layers_0_self_attn_q_proj</c>).
/// </summary>
public sealed class ClipTextModel : nn.Module<Tensor, Tensor>
{
    /// <summary>An older transformers buffer that some files carry; it holds nothing the model needs.</summary>
    public const string PositionIdsKey = "text_model.embeddings.position_ids";

#pragma warning disable IDE1006 // field names are the state-dict keys
    readonly CLIPTextTransformer text_model;
#pragma warning restore IDE1006

    public ClipTextConfig Config { get; }

    public ClipTextModel(ClipTextConfig config, Device? device = null, ScalarType? dtype = null) : base(nameof(ClipTextModel))
    {
        Config = config;
        text_model = new CLIPTextTransformer(config, device, dtype);
        RegisterComponents();
    }

    /// <summary>last_hidden_state for [batch, tokens] ids.</summary>
    public override Tensor forward(Tensor inputIds) => text_model.call(inputIds);

    public ClipTextOutput Forward(Tensor inputIds, bool outputHiddenStates = false) => text_model.Forward(inputIds, outputHiddenStates);

    /// <summary><c>final_layer_norm(hidden_states[-clipSkip])</c>; clipSkip 1 = last_hidden_state.</summary>
    public Tensor ForwardClipSkip(Tensor inputIds, int clipSkip) => text_model.ForwardClipSkip(inputIds, clipSkip);

    public int NumLayers => Config.NumHiddenLayers;

    /// <summary>
    /// Copies weights from a state dict whose keys start with "text_model." (transformers' layout; a
    /// single-file checkpoint's <c>cond_stage_model.transformer.</c> prefix already removed). Strict: missing
    /// or unexpected keys and wrong shapes are reported together; <see cref="PositionIdsKey"/> is ignored.
    /// Tensors are converted to this model's dtype and device.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string source = "text encoder weights")
    {
        stateDict = WithTextModelPrefix(stateDict);
        var own = state_dict();
        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k) && k != PositionIdsKey).ToList();
        var wrongShape = own.Where(kv => stateDict.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(",", stateDict[kv.Key].shape)}], model [{string.Join(",", kv.Value.shape)}]")
            .ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
        {
            static string List(string title, List<string> items) => items.Count == 0 ? ""
                : $"\n  {title} ({items.Count}): {string.Join(", ", items.Take(8))}{(items.Count > 8 ? ", ..." : "")}";
            throw new UserError($"{source} do not fit a CLIP text encoder with {Config.NumHiddenLayers} layers, " +
                                $"hidden size {Config.HiddenSize}:" + List("missing keys", missing) +
                                List("unexpected keys", unexpected) + List("wrong shapes", wrongShape) +
                                "\nUse an SD1.x checkpoint (or its diffusers text_encoder folder) for this model.");
        }
        using var noGrad = no_grad();
        foreach (var (key, target) in own)
            target.copy_(stateDict[key]);
    }

    /// <summary>
    /// Files written with transformers before 4.x's CLIPTextTransformer split (some early SD1 checkpoints) lack
    /// the "text_model." level (<c>embeddings.…</c>, <c>encoder.…</c>, <c>final_layer_norm.…</c>); it is added.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> WithTextModelPrefix(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        static bool Legacy(string k) => k.StartsWith("embeddings.", StringComparison.Ordinal)
            || k.StartsWith("encoder.", StringComparison.Ordinal) || k.StartsWith("final_layer_norm.", StringComparison.Ordinal);
        if (!stateDict.Keys.Any(Legacy)) return stateDict;
        return stateDict.ToDictionary(kv => Legacy(kv.Key) ? ClipTextConfig.Prefix + kv.Key : kv.Key, kv => kv.Value);
    }

    /// <summary>
    /// Builds the model from a state dict's shapes and loads it (<see cref="ClipTextConfig.FromStateDict"/>).
    /// <paramref name="eosTokenId"/> is the tokenizer's end-of-text id, where pooling reads the sequence; the
    /// weights do not record it, and CLIP's 49407 is wrong for any other vocabulary.
    /// </summary>
    public static ClipTextModel FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, int numAttentionHeads = 12,
        Device? device = null, ScalarType? dtype = null, string source = "text encoder weights", int? eosTokenId = null)
    {
        stateDict = WithTextModelPrefix(stateDict);
        var config = ClipTextConfig.FromStateDict(stateDict, numAttentionHeads, source);
        if (eosTokenId is { } eos)
        {
            if (eos < 0 || eos >= config.VocabSize)
                throw new UserError($"{source}: the tokenizer's end-of-text id {eos} is outside the text encoder's vocabulary of {config.VocabSize}; the tokenizer does not belong to this model.");
            config = config with { EosTokenId = eos };
        }
        var model = new ClipTextModel(config, device, dtype);
        model.LoadStateDict(stateDict, source);
        model.eval();
        return model;
    }
}
