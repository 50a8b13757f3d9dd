using LoraBake.Models.Text;

namespace LoraBake.Tests.Models.Text;

public class BuiltinVocabularyTests
{
    [Fact]
    public void Two_builds_are_byte_identical()
    {
        using var a = new TempFolder("lorabake-text-");
        using var b = new TempFolder("lorabake-text-");
        int na = BuiltinVocabulary.Write(a);
        int nb = BuiltinVocabulary.Write(b);
        Assert.Equal(na, nb);
        foreach (var f in new[] { "vocab.json", "merges.txt" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)));
        // Writing again over existing files leaves the same bytes and no temp files.
        BuiltinVocabulary.Write(a);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "vocab.json")), File.ReadAllBytes(Path.Combine(b, "vocab.json")));
        Assert.Equal(2, Directory.GetFiles(a).Length);
    }

    [Fact]
    public void Loads_as_a_clip_tokenizer_and_round_trips()
    {
        using var dir = new TempFolder("lorabake-text-");
        int size = BuiltinVocabulary.Write(dir);
        Assert.InRange(size, 1000, 2000);
        var tok = ClipTokenizer.Load(dir);
        Assert.Equal(size, tok.VocabSize);
        Assert.Equal(size - 2, tok.BosId);
        Assert.Equal(size - 1, tok.EosId);
        Assert.Equal("!", tok.IdToToken(0));
        Assert.Equal("!</w>", tok.IdToToken(256));

        const string prompt = "Masterpiece, 1girl, solo, long_hair, looking at viewer, (blue eyes:1.2), sunset";
        var ids = tok.EncodeIds(prompt);
        Assert.Equal(ClipTextCleaner.Clean(prompt).Replace(" ", ""), tok.Decode(ids).Replace(" ", ""));
        // Corpus words are whole tokens; unseen text still encodes through the byte tokens.
        Assert.Single(tok.EncodeIds("masterpiece"));
        Assert.Equal(["masterpiece</w>"], tok.Tokenize("masterpiece").Select(t => t.Text));
        var unseen = tok.EncodeIds("zqxj 日本 🐶");
        Assert.Equal("zqxj 日本 🐶", tok.Decode(unseen));
        Assert.All(unseen, id => Assert.InRange(id, 0, size - 3));
    }
}
