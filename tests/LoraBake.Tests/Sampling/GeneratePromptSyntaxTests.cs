using LoraBake.Cli.Commands;
using LoraBake.Runtime;
using LoraBake.Sampling;

namespace LoraBake.Tests.Sampling;

/// <summary>webui's &lt;lora:…&gt; tags and the --lora FILE[:WEIGHT] flag.</summary>
public class GeneratePromptSyntaxTests
{
    [Theory]
    [InlineData("<lora:cat:0.5> a cat", "cat", 0.5, 0.5, " a cat")]
    [InlineData("a cat <lora:cat>", "cat", 1.0, 1.0, "a cat ")]
    [InlineData("a <lora:cat:0.5:0.75>cat", "cat", 0.5, 0.75, "a cat")]
    [InlineData("a cat, <lora:my-style_v2:1.2>", "my-style_v2", 1.2, 1.2, "a cat, ")]
    [InlineData("<lora:cat:unet=0.3:te=0.6>", "cat", 0.6, 0.3, "")]
    [InlineData("<lora:cat:0.4:unet=0>", "cat", 0.4, 0.0, "")]
    [InlineData("<lyco:cat:-1>", "cat", -1.0, -1.0, "")]
    public void A_tag_is_removed_and_gives_webui_strengths(string prompt, string name, double te, double unet, string rest)
    {
        var (text, tags) = LoraPromptSyntax.Extract(prompt);
        Assert.Equal(rest, text);
        var tag = Assert.Single(tags);
        Assert.Equal(name, tag.Name);
        Assert.Equal(te, tag.TextEncoderWeight);
        Assert.Equal(unet, tag.UnetWeight);
    }

    [Fact]
    public void Several_tags_keep_their_order_and_other_text_is_untouched()
    {
        var (text, tags) = LoraPromptSyntax.Extract("(masterpiece:1.2) <lora:a:0.5>, [b] <lora:b:1> <3");
        Assert.Equal("(masterpiece:1.2) , [b]  <3", text);
        Assert.Equal(["a", "b"], tags.Select(t => t.Name));
    }

    [Theory]
    [InlineData("<lora:cat:strong>")]
    [InlineData("<lora::0.5>")]
    [InlineData("<lora:cat:0.5:dyn=4>")]
    [InlineData("<lora:cat:1:1:16>")]
    [InlineData("<hypernet:cat:1>")]
    public void A_tag_we_cannot_honour_is_a_user_error(string prompt)
    {
        var e = Assert.Throws<UserError>(() => LoraPromptSyntax.Extract(prompt));
        Assert.Contains("prompt:", e.Message);
    }

    [Fact]
    public void A_name_resolves_in_the_first_folder_that_has_it_and_a_missing_one_lists_the_folders()
    {
        using var root = new TempFolder("lorabake-generate-");
        string first = Path.Combine(root, "first"), second = Path.Combine(root, "second");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        File.WriteAllText(Path.Combine(second, "style.safetensors"), "x");
        Assert.Equal(Path.Combine(second, "style.safetensors"), LoraPromptSyntax.Resolve("style", [first, second]));
        var e = Assert.Throws<UserError>(() => LoraPromptSyntax.Resolve("nope", [first, second]));
        Assert.Contains("nope.safetensors", e.Message);
        Assert.Contains(first, e.Message);
        Assert.Contains(second, e.Message);
    }

    [Fact]
    public void The_lora_flag_takes_trailing_weights()
    {
        string file = GenerateTinyModel.LoraFile;
        Assert.Equal(new LoraReference(file, 1, 1), GenerateCommand.ParseLora(file));
        Assert.Equal(new LoraReference(file, 0.8, 0.8), GenerateCommand.ParseLora(file + ":0.8"));
        Assert.Equal(new LoraReference(file, 0.5, 1.5), GenerateCommand.ParseLora(file + ":0.5:1.5"));
        Assert.Throws<UserError>(() => GenerateCommand.ParseLora(file + ".missing:0.8"));
    }

    [Fact]
    public void Format_writes_the_short_form_when_both_strengths_agree()
    {
        Assert.Equal("<lora:x:0.8>", LoraPromptSyntax.Format("x", 0.8, 0.8));
        Assert.Equal("<lora:x:0.5:1>", LoraPromptSyntax.Format("x", 0.5, 1));
    }
}
