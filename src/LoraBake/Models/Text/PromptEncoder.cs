using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>
/// Prompt → text-encoder hidden states the way kohya's sd-scripts trains SD1 (docs/kohya-compatibility.md, "Tokens and clip skip"):
/// <c>max_token_length</c> 75/150/225 cuts the ids into n chunks of [BOS] + 75 ids + [EOS], encodes them
/// as one batch of (B·n, 77), applies clip skip as <c>final_layer_norm(hidden_states[-k])</c>, and
/// reassembles (B, n·75+2, D): the first chunk's BOS state, every chunk's 75 middle states, the last
/// chunk's final (EOS) state.
/// </summary>
public sealed class PromptEncoder(ClipTokenizer tokenizer, ClipTextModel model)
{
    public const int ChunkLength = 75;
    public ClipTokenizer Tokenizer { get; } = tokenizer;
    public ClipTextModel Model { get; } = model;

    public static int ChunkCount(int maxTokenLength) => maxTokenLength switch
    {
        75 or 150 or 225 => maxTokenLength / ChunkLength,
        _ => throw new ArgumentOutOfRangeException(nameof(maxTokenLength), maxTokenLength, "max_token_length is 75, 150 or 225."),
    };

    /// <summary>
    /// kohya's ids for one prompt: tokenised to max_token_length+2 with padding/truncation, then n chunks of
    /// 77 = [BOS] + ids[1+75k .. 75+75k] + [last id of the padded sequence] (n·77 ids in all).
    /// </summary>
    public static long[] ChunkIds(ClipTokenizer tokenizer, string prompt, int maxTokenLength = 75)
    {
        int n = ChunkCount(maxTokenLength);
        var padded = tokenizer.EncodePadded(prompt, maxTokenLength + 2);
        var result = new long[n * (ChunkLength + 2)];
        for (int k = 0; k < n; k++)
        {
            int o = k * (ChunkLength + 2);
            result[o] = tokenizer.BosId;
            for (int j = 0; j < ChunkLength; j++) result[o + 1 + j] = padded[1 + ChunkLength * k + j];
            result[o + ChunkLength + 1] = padded[^1];
        }
        return result;
    }

    /// <summary>
    /// kohya's <c>weighted_captions</c> tokenisation (<c>_get_weighted_input_ids</c>): attention syntax parsed
    /// (no BREAK), each fragment tokenised on its own, ids truncated to max_token_length and padded, then cut
    /// into chunks as <see cref="ChunkIds"/>; each chunk's BOS/EOS weight is 1.
    /// </summary>
    public static (long[] Ids, float[] Weights) ChunkIdsWithWeights(ClipTokenizer tokenizer, string prompt, int maxTokenLength = 75)
    {
        int n = ChunkCount(maxTokenLength);
        var tokens = new List<int>();
        var weights = new List<float>();
        foreach (var fragment in PromptWeights.Parse(prompt, allowBreak: false))
        {
            var ids = tokenizer.EncodeIds(fragment.Text);
            tokens.AddRange(ids);
            weights.AddRange(Enumerable.Repeat((float)fragment.Weight, ids.Length));
        }
        int keep = Math.Min(tokens.Count, maxTokenLength);
        var padded = tokenizer.Pad(tokens.Take(keep).ToList(), maxTokenLength + 2);
        var paddedWeights = new float[maxTokenLength + 2];
        Array.Fill(paddedWeights, 1f);
        for (int i = 0; i < keep; i++) paddedWeights[1 + i] = weights[i];

        const int width = ChunkLength + 2;
        var resultIds = new long[n * width];
        var resultWeights = new float[n * width];
        Array.Fill(resultWeights, 1f);
        for (int k = 0; k < n; k++)
        {
            int o = k * width;
            resultIds[o] = tokenizer.BosId;
            for (int j = 0; j < ChunkLength; j++)
            {
                resultIds[o + 1 + j] = padded[1 + ChunkLength * k + j];
                resultWeights[o + 1 + j] = paddedWeights[1 + ChunkLength * k + j];
            }
            resultIds[o + ChunkLength + 1] = padded[^1];
        }
        return (resultIds, resultWeights);
    }

    /// <summary>
    /// kohya's weighted encoding (<c>encode_tokens_with_weights</c>): <see cref="Encode"/> with each of the 75
    /// states of every chunk multiplied by its token's weight. Unlike webui, the mean is not restored.
    /// </summary>
    public Tensor EncodeWeighted(IReadOnlyList<string> prompts, int maxTokenLength = 75, int clipSkip = 1, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var rows = prompts.Select(p => ChunkIdsWithWeights(Tokenizer, p, maxTokenLength)).ToList();
        int n = ChunkCount(maxTokenLength), width = ChunkLength + 2;
        var ids = tensor(rows.SelectMany(r => r.Ids).ToArray(), [prompts.Count, n * width], ScalarType.Int64);
        // Weights laid out like the reassembled states: BOS, each chunk's 75, EOS.
        var flatWeights = rows.SelectMany(r =>
            new[] { 1f }.Concat(Enumerable.Range(0, n).SelectMany(k => r.Weights.Skip(k * width + 1).Take(ChunkLength))).Append(1f)).ToArray();
        var weights = tensor(flatWeights, [prompts.Count, n * ChunkLength + 2]);
        device ??= Model.ParameterDevice();
        ids = ids.to(device); weights = weights.to(device);
        var hidden = EncodeIds(ids, clipSkip);
        return (hidden * weights.to(hidden.dtype).unsqueeze(-1)).MoveToOuterDisposeScope();
    }

    /// <summary>Ids for a batch of prompts: [B, n·77] int64.</summary>
    public Tensor Tokenize(IReadOnlyList<string> prompts, int maxTokenLength = 75)
    {
        var rows = prompts.Select(p => ChunkIds(Tokenizer, p, maxTokenLength)).ToArray();
        var flat = rows.SelectMany(r => r).ToArray();
        return tensor(flat, [prompts.Count, rows.Length == 0 ? 0 : rows[0].Length], ScalarType.Int64);
    }

    /// <summary>(B, n·75+2, D) for a batch of prompts; clipSkip 1 = last layer (kohya's None), 2 = penultimate.</summary>
    public Tensor Encode(IReadOnlyList<string> prompts, int maxTokenLength = 75, int clipSkip = 1, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var ids = Tokenize(prompts, maxTokenLength);
        ids = ids.to(device ?? Model.ParameterDevice());
        return EncodeIds(ids, clipSkip).MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states for chunked ids [B, n·77] (or [B, n, 77]) as <see cref="Encode"/> returns them.</summary>
    public Tensor EncodeIds(Tensor ids, int clipSkip = 1)
    {
        using var scope = NewDisposeScope();
        const int width = ChunkLength + 2;
        long b = ids.shape[0];
        var flat = ids.reshape(-1, width);
        var states = Model.ForwardClipSkip(flat, clipSkip);
        var perPrompt = states.reshape(b, -1, states.shape[^1]);
        long n = perPrompt.shape[1] / width;
        var parts = new List<Tensor> { perPrompt[.., ..1] };
        for (long k = 0; k < n; k++)
            parts.Add(perPrompt[.., (int)(k * width + 1)..(int)(k * width + 1 + ChunkLength)]);
        parts.Add(perPrompt[.., ^1..]);
        return cat(parts, 1).MoveToOuterDisposeScope();
    }
}
