using static TorchSharp.torch;

namespace LoraBake.Models.Text;

/// <summary>77 ids ([BOS] + 75 + [EOS]) and the attention weight of each.</summary>
public sealed record PromptChunk(int[] Tokens, float[] Multipliers);

/// <summary>
/// Prompt → conditioning the way AUTOMATIC1111's webui does for generation
/// (<c>modules/sd_hijack_clip.py</c>): attention weights (<see cref="PromptWeights"/>), each fragment
/// tokenised on its own, tokens packed into 75-token chunks (BREAK starts a new one; text after the last
/// comma moves to the next chunk if it is within <c>comma_padding_backtrack</c> tokens), each chunk padded
/// to [BOS] + 75 + [EOS] with EOS, encoded chunk by chunk with "Original" emphasis, concatenated along
/// tokens: (B, chunks·77, D). Prompts in one batch are padded to the same chunk count with empty chunks.
/// </summary>
public sealed class WebuiPromptEncoder(ClipTokenizer tokenizer, ClipTextModel model, int commaPaddingBacktrack = 20)
{
    const int ChunkLength = 75;
    public ClipTokenizer Tokenizer { get; } = tokenizer;
    public ClipTextModel Model { get; } = model;
    readonly int? _comma = tokenizer.TokenToId("," + ClipTokenizer.EndOfWordSuffix);

    /// <summary>webui's <c>tokenize_line</c>: the chunks of one prompt and its token count.</summary>
    public List<PromptChunk> Chunk(string prompt, out int tokenCount)
    {
        var chunks = new List<PromptChunk>();
        var tokens = new List<int>();
        var multipliers = new List<float>();
        int lastComma = -1;
        int count = 0;

        void NextChunk(bool isLast = false)
        {
            count += isLast ? tokens.Count : ChunkLength;
            while (tokens.Count < ChunkLength) { tokens.Add(Tokenizer.EosId); multipliers.Add(1f); }
            chunks.Add(new PromptChunk([Tokenizer.BosId, .. tokens, Tokenizer.EosId], [1f, .. multipliers, 1f]));
            tokens = [];
            multipliers = [];
            lastComma = -1;
        }

        foreach (var fragment in PromptWeights.Parse(prompt))
        {
            if (fragment.IsBreak) { NextChunk(); continue; }
            foreach (var token in Tokenizer.EncodeIds(fragment.Text))
            {
                if (token == _comma) lastComma = tokens.Count;
                else if (commaPaddingBacktrack != 0 && tokens.Count == ChunkLength && lastComma != -1
                         && tokens.Count - lastComma <= commaPaddingBacktrack)
                {
                    int breakAt = lastComma + 1;
                    var relocTokens = tokens[breakAt..];
                    var relocMultipliers = multipliers[breakAt..];
                    tokens.RemoveRange(breakAt, tokens.Count - breakAt);
                    multipliers.RemoveRange(breakAt, multipliers.Count - breakAt);
                    NextChunk();
                    tokens = relocTokens;
                    multipliers = relocMultipliers;
                }
                if (tokens.Count == ChunkLength) NextChunk();
                tokens.Add(token);
                multipliers.Add((float)fragment.Weight);
            }
        }
        if (tokens.Count > 0 || chunks.Count == 0) NextChunk(isLast: true);
        tokenCount = count;
        return chunks;
    }

    PromptChunk EmptyChunk()
    {
        var ids = Enumerable.Repeat(Tokenizer.EosId, ChunkLength + 2).ToArray();
        ids[0] = Tokenizer.BosId;
        return new PromptChunk(ids, Enumerable.Repeat(1f, ChunkLength + 2).ToArray());
    }

    /// <summary>(B, chunks·77, D): chunk count = the longest prompt's; shorter prompts get empty chunks.</summary>
    public Tensor Encode(IReadOnlyList<string> prompts, int clipSkip = 1, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var batch = prompts.Select(p => Chunk(p, out _)).ToList();
        int chunkCount = batch.Max(c => c.Count);
        var zs = new List<Tensor>();
        for (int i = 0; i < chunkCount; i++)
        {
            var chunk = batch.Select(c => i < c.Count ? c[i] : EmptyChunk()).ToList();
            var ids = tensor(chunk.SelectMany(c => c.Tokens.Select(t => (long)t)).ToArray(), [chunk.Count, ChunkLength + 2]);
            var weights = tensor(chunk.SelectMany(c => c.Multipliers).ToArray(), [chunk.Count, ChunkLength + 2]);
            device ??= Model.ParameterDevice();
            ids = ids.to(device); weights = weights.to(device);
            var z = Model.ForwardClipSkip(ids, clipSkip);
            zs.Add(PromptWeights.ApplyOriginalEmphasis(z, weights));
        }
        return cat(zs, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// webui's <c>pad_cond</c> for CFG when cond and uncond have different chunk counts: the shorter is
    /// extended with copies of the empty prompt's encoding (<paramref name="emptyPrompt"/>, (1, 77, D), i.e.
    /// <c>Encode([""])</c>).
    /// </summary>
    public static (Tensor Cond, Tensor Uncond) PadToSameLength(Tensor cond, Tensor uncond, Tensor emptyPrompt)
    {
        using var scope = NewDisposeScope();
        Tensor Pad(Tensor t, long tokens)
        {
            long missing = tokens - t.shape[1];
            if (missing == 0) return t.alias();
            long repeats = missing / emptyPrompt.shape[1];
            if (repeats * emptyPrompt.shape[1] != missing)
                throw new ArgumentException($"Conditioning lengths {cond.shape[1]} and {uncond.shape[1]} are not whole chunks.");
            return cat([t, emptyPrompt.repeat(t.shape[0], repeats, 1)], 1);
        }
        long target = Math.Max(cond.shape[1], uncond.shape[1]);
        return (Pad(cond, target).MoveToOuterDisposeScope(), Pad(uncond, target).MoveToOuterDisposeScope());
    }
}
