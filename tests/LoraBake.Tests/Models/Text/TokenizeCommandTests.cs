using System.Text.Json;
using LoraBake.Cli.Commands;
using LoraBake.Runtime;

namespace LoraBake.Tests.Models.Text;

public class TokenizeCommandTests
{
    [Fact]
    public void Json_lists_ids_tokens_and_chunks()
    {
        var output = new StringWriter();
        int rc = TokenizeCommand.Run(new TokenizeCommand.Settings
        {
            Prompt = "A photo of a CAT", Tokenizer = GoldensFolder.File("tokenizer"), Json = true,
        }, output);
        Assert.Equal(0, rc);
        using var doc = JsonDocument.Parse(output.ToString());
        Assert.Equal([320, 1125, 539, 320, 2368], doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(["a</w>", "photo</w>", "of</w>", "a</w>", "cat</w>"],
            doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(1, doc.RootElement.GetProperty("chunks").GetInt32());
    }

    [Fact]
    public void Text_shows_chunks_and_the_cut()
    {
        var output = new StringWriter();
        var prompt = string.Join(" ", Enumerable.Repeat("word", 80));
        TokenizeCommand.Run(new TokenizeCommand.Settings { Prompt = prompt, Tokenizer = GoldensFolder.File("tokenizer") }, output);
        var text = output.ToString();
        Assert.Contains("80 tokens", text);
        Assert.Contains("chunk 1: 75 tokens", text);
        Assert.Contains("chunk 2: 5 tokens: word word word word word", text);
        Assert.Contains("5 tokens after it are dropped", text);
    }

    [Fact]
    public void Missing_tokenizer_is_a_user_error()
    {
        var e = Assert.Throws<UserError>(() => TokenizeCommand.Run(new TokenizeCommand.Settings { Prompt = "x" }, new StringWriter()));
        Assert.Contains("--tokenizer", e.Message);
    }
}
