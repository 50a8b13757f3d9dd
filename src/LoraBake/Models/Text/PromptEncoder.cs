using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>
/// Prompt → text-encoder hidden states the way kohya's sd-scripts trains SD1 (trainer-spec §2.6):
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
        if (device != null) ids = ids.to(device);
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
