using System.Text.Json;
using LoraBake.Models.Text;
using LoraBake.Runtime;

namespace LoraBake.Tests.Models.Text;

public class ClipTokenizerTests
{
    static readonly Lazy<ClipTokenizer> Tokenizer = new(() => ClipTokenizer.Load(GoldensFolder.File("tokenizer")));

    public static IEnumerable<object[]> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldensFolder.File("tokenizer"), "tokenizer_goldens.json")));
        int n = doc.RootElement.GetProperty("cases").GetArrayLength();
        return Enumerable.Range(0, n).Select(i => new object[] { i });
    }

    static JsonElement Case(int index)
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GoldensFolder.File("tokenizer"), "tokenizer_goldens.json")));
        return doc.RootElement.GetProperty("cases")[index];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_transformers_golden(int index)
    {
        var c = Case(index);
        var prompt = c.GetProperty("prompt").GetString()!;
        var tok = Tokenizer.Value;
        var tokens = tok.Tokenize(prompt);

        var expectedIds = c.GetProperty("ids_no_special_untruncated").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var expectedTokens = c.GetProperty("tokens_no_special_untruncated").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(expectedTokens, tokens.Select(t => t.Text).ToArray());
        Assert.Equal(expectedIds, tokens.Select(t => t.Id).ToArray());
        Assert.Equal(c.GetProperty("num_tokens_no_special").GetInt32(), tokens.Count);

        var expectedPadded = c.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(expectedPadded, tok.EncodePadded(prompt));
    }

    [Fact]
    public void Special_ids_come_from_the_vocabulary()
    {
        Assert.Equal(49406, Tokenizer.Value.BosId);
        Assert.Equal(49407, Tokenizer.Value.EosId);
        Assert.Equal(49407, Tokenizer.Value.PadId);
        Assert.Equal(49408, Tokenizer.Value.VocabSize);
    }

    [Fact]
    public void Literal_special_tokens_map_to_their_ids()
    {
        var ids = Tokenizer.Value.EncodeIds("a<|endoftext|>b");
        Assert.Equal(3, ids.Length);
        Assert.Equal(49407, ids[1]);
        Assert.Equal(Tokenizer.Value.EncodeIds("a")[0], ids[0]);
    }

    [Fact]
    public void Decode_restores_words()
    {
        var tok = Tokenizer.Value;
        Assert.Equal("a photo of a cat", tok.Decode(tok.EncodePadded("A Photo of a CAT")));
    }

    [Fact]
    public void Missing_files_are_user_errors()
    {
        using var dir = new TempFolder("lorabake-text-");
        var e = Assert.Throws<UserError>(() => ClipTokenizer.Load(dir));
        Assert.Contains("vocab.json", e.Message);
    }
}
