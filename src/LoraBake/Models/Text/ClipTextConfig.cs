using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>
/// transformers' CLIPTextConfig, the parts that shape the model. Everything but the head count can be read
/// from a state dict's tensor shapes (<see cref="FromStateDict"/>); the head count must be given.
/// </summary>
public sealed record ClipTextConfig(
    int VocabSize = 49408,
    int HiddenSize = 768,
    int NumHiddenLayers = 12,
    int NumAttentionHeads = 12,
    int IntermediateSize = 3072,
    int MaxPositionEmbeddings = 77,
    double LayerNormEps = 1e-5,
    string HiddenAct = "quick_gelu",
    int EosTokenId = 49407)
{
    /// <summary>SD1.x's text encoder (openai/clip-vit-large-patch14).</summary>
    public static ClipTextConfig Sd1 { get; } = new();

    public int HeadDim => HiddenSize / NumAttentionHeads;

    public const string Prefix = "text_model.";

    /// <summary>
    /// Reads the architecture from the shapes of a CLIPTextModel state dict (keys start with "text_model.").
    /// <paramref name="source"/> names the file in errors.
    /// </summary>
    public static ClipTextConfig FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, int numAttentionHeads = 12,
        string source = "text encoder weights")
    {
        Tensor Get(string key) => stateDict.TryGetValue(Prefix + key, out var t) ? t
            : throw new UserError($"{source}: '{Prefix + key}' is missing, so this is not a CLIP text encoder in " +
                                  "transformers' layout. Check that the file is an SD1.x text encoder.");
        var token = Get("embeddings.token_embedding.weight");
        var position = Get("embeddings.position_embedding.weight");
        var fc1 = Get("encoder.layers.0.mlp.fc1.weight");
        const string layerPrefix = Prefix + "encoder.layers.";
        int layers = stateDict.Keys.Where(k => k.StartsWith(layerPrefix, StringComparison.Ordinal))
            .Select(k => k[layerPrefix.Length..].Split('.')[0]).Distinct().Count();
        int hidden = (int)token.shape[1];
        if (hidden % numAttentionHeads != 0)
            throw new UserError($"{source}: hidden size {hidden} is not divisible by {numAttentionHeads} attention heads. " +
                                "Give the model's head count (CLIP ViT-L/14 uses 12).");
        return new ClipTextConfig(
            VocabSize: (int)token.shape[0],
            HiddenSize: hidden,
            NumHiddenLayers: layers,
            NumAttentionHeads: numAttentionHeads,
            IntermediateSize: (int)fc1.shape[0],
            MaxPositionEmbeddings: (int)position.shape[0]);
    }
}
