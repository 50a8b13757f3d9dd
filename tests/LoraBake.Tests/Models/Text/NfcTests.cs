using LoraBake.Models.Text;

namespace LoraBake.Tests.Models.Text;

public class NfcTests
{
    // Expected values from Python 3.11's unicodedata.normalize("NFC", ...).
    [Theory]
    [InlineData("cafe\u0301", "caf\u00e9")]
    [InlineData("e\u0301\u0323", "\u1eb9\u0301")] // reordered, then composed
    [InlineData("\u1100\u1161\u11a8", "\uac01")] // Hangul jamo
    [InlineData("A\u030a", "\u00c5")]
    [InlineData("\u212b", "\u00c5")] // singleton decomposition
    [InlineData("\u0958", "\u0915\u093c")] // composition exclusion
    [InlineData("q\u0307\u0323", "q\u0323\u0307")]
    [InlineData("\u1e0b\u0323", "\u1e0d\u0307")]
    [InlineData("a\u0301\u0301", "\u00e1\u0301")] // the second acute is blocked
    [InlineData("\u00e9\u0300", "\u00e9\u0300")]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("emoji \U0001F436 \u65e5\u672c", "emoji \U0001F436 \u65e5\u672c")]
    public void MatchesPython(string input, string expected) => Assert.Equal(expected, Nfc.Normalize(input));

    [Fact]
    public void Half_width_katakana_is_narrowed_and_composed() =>
        Assert.Equal("\u30ac\u30ae", ClipTextCleaner.Clean("\uff76\uff9e\uff77\uff9e"));
}
