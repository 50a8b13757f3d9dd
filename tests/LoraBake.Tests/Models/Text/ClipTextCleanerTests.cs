using LoraBake.Models.Text;

namespace LoraBake.Tests.Models.Text;

public class ClipTextCleanerTests
{
    [Theory]
    [InlineData("  Hello\t\n World  ", "hello world")]
    [InlineData("&amp; &lt;b&gt; &#233; &unknown;", "& <b> é &unknown;")]
    [InlineData("&EACUTE; &AMP; &amp;amp;", "\u00e9 & &")]
    [InlineData("<b>&amp;</b>", "<b>&amp;</b>")] // ftfy "auto": a literal '<' means HTML, leave entities alone
    [InlineData("\u201cq\u201d \u2018s\u2019", "\"q\" 's'")]
    [InlineData("\ufb01sh \ufb02ower \ufb03", "fish flower ffi")]
    [InlineData("\uff21\uff22\uff23\u3000\uff11\uff12", "abc 12")]
    [InlineData("cafe\u0301", "caf\u00e9")] // NFC
    [InlineData("caf\u00c3\u00a9", "caf\u00e9")] // mojibake
    [InlineData("\u00e2\u20ac\u0153hi\u00e2\u20ac\u009d", "\"hi\"")] // mojibake of curly quotes, then uncurled
    [InlineData("caf\u00e9 cr\u00e8me \u00b1 \u00d7", "caf\u00e9 cr\u00e8me \u00b1 \u00d7")] // real Latin-1 text is kept
    [InlineData("\u00c8\u00b1 \u00d1\u00a0x", "\u00e8\u00b1 \u00f1 x")] // look like mojibake, are not
    [InlineData("\u039f\u0394\u039f\u03a3 \u03a3", "\u03bf\u03b4\u03bf\u03c2 \u03c3")] // Python's final sigma
    [InlineData("\u03b4\u03a3\U0001D552 \U0001D538\U0001F3FD\u03a3", "\u03b4\u03c3\U0001D552 \U0001D538\U0001F3FD\u03c2")] // astral cased letters
    [InlineData("a\u0085b", "a\u2026b")] // a C1 control read as Windows-1252
    [InlineData("x\u0000y\ufeffz", "xyz")]
    public void CleansAsFtfyAndTransformers(string input, string expected)
    {
        Assert.Equal(expected, ClipTextCleaner.Clean(input));
    }
}
