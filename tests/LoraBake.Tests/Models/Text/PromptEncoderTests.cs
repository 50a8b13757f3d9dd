using System.Text.Json;
using LoraBake.Models.Text;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Text;

public class PromptEncoderTests
{
    const double Tolerance = 1e-5; // float32 on another code path; see ClipTextModelTests
    static readonly Lazy<ClipTokenizer> Tok = new(() => ClipTokenizer.Load(GoldensFolder.File("tokenizer")));
    static readonly Lazy<ClipTextModel> Model = new(ClipTextModelTests.LoadTiny);

    static Dictionary<string, Tensor> Goldens() =>
        Safetensors.LoadStateDict(Path.Combine(GoldensFolder.File("tiny_a"), "goldens", "text_encoder.safetensors"));

    static float MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void Single_chunk_matches_goldens()
    {
        var g = Goldens();
        try
        {
            using var noGrad = no_grad();
            var encoder = new PromptEncoder(Tok.Value, Model.Value);
            string[] prompts = ["a photo of a cat", "(masterpiece:1.2), best quality, 1girl, long_hair, looking_at_viewer"];
            using var ids = encoder.Tokenize(prompts);
            Assert.Equal(g["input_ids"].data<long>().ToArray(), ids.data<long>().ToArray());
            using var last = encoder.Encode(prompts);
            Assert.True(MaxDiff(g["last_hidden_state"], last) <= Tolerance);
            using var skip2 = encoder.Encode(prompts, clipSkip: 2);
            Assert.True(MaxDiff(g["clip_skip_2"], skip2) <= Tolerance);
        }
        finally { foreach (var t in g.Values) t.Dispose(); }
    }

    static int[] LongPromptIds()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldensFolder.File("tokenizer"), "tokenizer_goldens.json")));
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().First(e => e.GetProperty("num_tokens_no_special").GetInt32() == 90);
        return c.GetProperty("ids_no_special_untruncated").EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    [Fact]
    public void Chunk_ids_follow_kohya()
    {
        var tok = Tok.Value;
        var ids = LongPromptIds();
        var prompt = tok.Decode(ids); // the 90-token booru prompt, re-spelled; tokenises to the same ids
        Assert.Equal(ids, tok.EncodeIds(prompt));

        var c150 = PromptEncoder.ChunkIds(tok, prompt, 150);
        Assert.Equal(154, c150.Length);
        Assert.Equal(49406, c150[0]);
        Assert.Equal(ids[..75].Select(i => (long)i), c150[1..76]);
        Assert.Equal(49407, c150[76]);
        Assert.Equal(49406, c150[77]);
        Assert.Equal(ids[75..].Select(i => (long)i), c150[78..93]);
        Assert.All(c150[93..], id => Assert.Equal(49407, id)); // EOS then padding (= EOS) then the chunk's EOS

        var c75 = PromptEncoder.ChunkIds(tok, prompt, 75);
        Assert.Equal(tok.EncodePadded(prompt).Select(i => (long)i), c75);
        Assert.Throws<ArgumentOutOfRangeException>(() => PromptEncoder.ChunkIds(tok, prompt, 100));
    }

    [Fact]
    public void Three_chunks_reassemble_to_227_tokens()
    {
        using var noGrad = no_grad();
        var encoder = new PromptEncoder(Tok.Value, Model.Value);
        string[] prompts = ["a photo of a cat", "masterpiece, 1girl"];
        using var single = encoder.Encode(prompts, 75, clipSkip: 2);
        using var triple = encoder.Encode(prompts, 225, clipSkip: 2);
        Assert.Equal(new long[] { 2, 227, 32 }, triple.shape);
        // A short prompt's first chunk is its 77-token encoding: BOS and the 75 states agree.
        Assert.True(MaxDiff(single[.., ..76], triple[.., ..76]) <= Tolerance);
        // The middle chunks and the final state come from the all-padding chunks [BOS, EOS × 76].
        using var padChunk = tensor(new long[] { 49406 }.Concat(Enumerable.Repeat(49407L, 76)).ToArray(), [1, 77]);
        using var padStates = Model.Value.ForwardClipSkip(padChunk, 2);
        Assert.True(MaxDiff(padStates[0, 1..76], triple[0, 76..151]) <= Tolerance);
        Assert.True(MaxDiff(padStates[0, 76], triple[1, 226]) <= Tolerance);
    }

    [Fact]
    public void Webui_chunks_long_prompts_at_commas()
    {
        var tok = Tok.Value;
        var webui = new WebuiPromptEncoder(tok, Model.Value);
        int a = tok.EncodeIds("a")[0], b = tok.EncodeIds("b")[0], comma = tok.TokenToId(",</w>")!.Value;
        // 70 × "a", a comma, 10 × "b": the 76th token is 5 past the comma, so the text after it moves on.
        var prompt = string.Join(" ", Enumerable.Repeat("a", 70)) + ", " + string.Join(" ", Enumerable.Repeat("b", 10));
        var chunks = webui.Chunk(prompt, out int count);
        Assert.Equal(2, chunks.Count);
        Assert.All(chunks, c => Assert.Equal(77, c.Tokens.Length));
        Assert.Equal(Enumerable.Repeat(a, 70).Append(comma).Concat(Enumerable.Repeat(49407, 4)), chunks[0].Tokens[1..76]);
        Assert.Equal(Enumerable.Repeat(b, 10).Concat(Enumerable.Repeat(49407, 65)), chunks[1].Tokens[1..76]);
        Assert.Equal(75 + 10, count);

        var noBacktrack = new WebuiPromptEncoder(tok, Model.Value, commaPaddingBacktrack: 0).Chunk(prompt, out _);
        Assert.Equal(Enumerable.Repeat(a, 70).Append(comma).Concat(Enumerable.Repeat(b, 4)), noBacktrack[0].Tokens[1..76]);

        // The 90-token booru prompt has a comma as its 76th token: no backtracking, a plain cut at 75.
        var longIds = LongPromptIds();
        var longChunks = webui.Chunk(tok.Decode(longIds), out _);
        Assert.Equal(longIds[..75], longChunks[0].Tokens[1..76]);
        Assert.Equal(longIds[75..], longChunks[1].Tokens[1..16]);
    }

    [Fact]
    public void Webui_break_and_weights()
    {
        var tok = Tok.Value;
        var webui = new WebuiPromptEncoder(tok, Model.Value);
        var chunks = webui.Chunk("(cat:1.5) BREAK [dog]", out _);
        Assert.Equal(2, chunks.Count);
        int cat = tok.EncodeIds("cat")[0], dog = tok.EncodeIds("dog")[0];
        Assert.Equal([49406, cat, 49407], chunks[0].Tokens[..3]);
        Assert.Equal([1f, 1.5f, 1f], chunks[0].Multipliers[..3]);
        Assert.Equal([49406, dog, 49407], chunks[1].Tokens[..3]);
        Assert.Equal(1 / 1.1f, chunks[1].Multipliers[1], 6);
        Assert.Single(webui.Chunk("", out int n));
        Assert.Equal(0, n);
    }

    [Fact]
    public void Webui_encode_applies_emphasis_and_pads_uncond()
    {
        using var noGrad = no_grad();
        var tok = Tok.Value;
        var webui = new WebuiPromptEncoder(tok, Model.Value);
        using var plain = webui.Encode(["a photo of a cat"], clipSkip: 2);
        using var reference = Model.Value.ForwardClipSkip(tensor(tok.EncodePadded("a photo of a cat").Select(i => (long)i).ToArray(), [1, 77]), 2);
        Assert.True(MaxDiff(reference, plain) <= Tolerance);

        using var weighted = webui.Encode(["a photo of a (cat:1.5)"], clipSkip: 2);
        var w = Enumerable.Repeat(1f, 77).ToArray();
        w[5] = 1.5f;
        using var weights = tensor(w, [1, 77]);
        using var expected = PromptWeights.ApplyOriginalEmphasis(reference, weights);
        Assert.True(MaxDiff(expected, weighted) <= Tolerance);

        using var longer = webui.Encode(["a BREAK b"]);
        using var empty = webui.Encode([""]);
        Assert.Equal(154, longer.shape[1]);
        var (c, u) = WebuiPromptEncoder.PadToSameLength(longer, plain, empty);
        using (c) using (u)
        {
            Assert.Equal(longer.shape, c.shape);
            Assert.Equal(longer.shape, u.shape);
            Assert.True(MaxDiff(u[.., ..77], plain) == 0);
            Assert.True(MaxDiff(u[.., 77..], empty) == 0);
        }
    }
}

public class KohyaWeightedCaptionTests
{
    static readonly Lazy<ClipTokenizer> Tok = new(() => ClipTokenizer.Load(GoldensFolder.File("tokenizer")));

    [Fact]
    public void Weights_follow_tokens_into_chunks()
    {
        var tok = Tok.Value;
        var prompt = string.Join(" ", Enumerable.Repeat("word", 74)) + " (cat:1.5) [dog] \\(x\\)";
        var (ids, weights) = PromptEncoder.ChunkIdsWithWeights(tok, prompt, 150);
        Assert.Equal(154, ids.Length);
        Assert.Equal(154, weights.Length);
        int cat = tok.EncodeIds("cat")[0], dog = tok.EncodeIds("dog")[0];
        Assert.Equal(cat, ids[75]);
        Assert.Equal(1.5f, weights[75]);
        Assert.Equal(1f, weights[76]); // the first chunk's EOS
        Assert.Equal(49406, ids[77]);
        Assert.Equal(dog, ids[78]); // the 76th token opens the second chunk
        Assert.Equal((float)(1 / 1.1), weights[78], 6);
        Assert.Equal(tok.EncodeIds("(x)"), ids[79..82].Select(i => (int)i));
        Assert.All(weights[79..], w => Assert.Equal(1f, w));
        // Without weights the ids are kohya's plain chunk ids.
        var (plainIds, plainWeights) = PromptEncoder.ChunkIdsWithWeights(tok, "a photo of a cat", 75);
        Assert.Equal(PromptEncoder.ChunkIds(tok, "a photo of a cat", 75), plainIds);
        Assert.All(plainWeights, w => Assert.Equal(1f, w));
    }

    [Fact]
    public void Encode_multiplies_without_restoring_the_mean()
    {
        using var noGrad = no_grad();
        using var model = ClipTextModelTests.LoadTiny();
        var encoder = new PromptEncoder(Tok.Value, model);
        using var plain = encoder.Encode(["a photo of a cat"], 150, clipSkip: 2);
        using var weighted = encoder.EncodeWeighted(["a photo of a (cat:1.5)"], 150, clipSkip: 2);
        Assert.Equal(plain.shape, weighted.shape);
        using var expected = plain.clone();
        expected[0, 5] *= 1.5f;
        Assert.True((expected - weighted).abs().max().item<float>() <= 1e-5);
    }
}
