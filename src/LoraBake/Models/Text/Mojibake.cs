using System.Text;

namespace LoraBake.Models.Text;

/// <summary>
/// A conservative form of ftfy's mojibake repair: UTF-8 that was decoded as Windows-1252 ("cafÃ©", "â€œ")
/// is re-encoded and decoded again. ftfy weighs whole segments with a "badness" heuristic; this only
/// repairs sequences that form a complete, valid multi-byte UTF-8 character when read back as
/// Windows-1252 bytes (lead byte followed by the right number of continuation bytes), which legitimate
/// prompts almost never contain; two-character sequences only after the usual mojibake leads.
/// </summary>
public static class Mojibake
{
    // Windows-1252 0x80-0x9F; ftfy's "sloppy" variant maps the five undefined bytes to the C1 control itself.
    static readonly char[] Cp1252High =
    [
        '\u20ac', '\u0081', '\u201a', '\u0192', '\u201e', '\u2026', '\u2020', '\u2021',
        '\u02c6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008d', '\u017d', '\u008f',
        '\u0090', '\u2018', '\u2019', '\u201c', '\u201d', '\u2022', '\u2013', '\u2014',
        '\u02dc', '\u2122', '\u0161', '\u203a', '\u0153', '\u009d', '\u017e', '\u0178',
    ];

    static readonly Dictionary<char, byte> CharToByte = BuildReverse();

    static Dictionary<char, byte> BuildReverse()
    {
        var map = new Dictionary<char, byte>();
        for (int b = 0x80; b <= 0xff; b++) map[SloppyCp1252ToChar((byte)b)] = (byte)b;
        return map;
    }

    public static char SloppyCp1252ToChar(byte b) => b is >= 0x80 and <= 0x9f ? Cp1252High[b - 0x80] : (char)b;

    static int ByteOf(char c) => CharToByte.TryGetValue(c, out var b) ? b : -1;

    public static string Fix(string text)
    {
        StringBuilder? sb = null;
        int i = 0;
        while (i < text.Length)
        {
            int lead = ByteOf(text[i]);
            int need = lead switch { >= 0xc2 and <= 0xdf => 1, >= 0xe0 and <= 0xef => 2, >= 0xf0 and <= 0xf4 => 3, _ => 0 };
            // Two-character sequences are only trusted after the leads that real mojibake starts with
            // (Latin-1 "Ã©", "Â°", Latin Extended "Å“", Greek "Î±"): "È±", "×±" or "Ñ" before a no-break space are text.
            if (need == 1 && lead is not (0xc2 or 0xc3 or 0xc5 or 0xce or 0xcf)) need = 0;
            if (need > 0 && TryDecode(text, i, lead, need, out var decoded))
            {
                sb ??= new StringBuilder(text[..i]);
                sb.Append(decoded);
                i += need + 1;
                continue;
            }
            sb?.Append(text[i]);
            i++;
        }
        return sb?.ToString() ?? text;
    }

    static bool TryDecode(string text, int start, int lead, int need, out string decoded)
    {
        decoded = "";
        if (start + need >= text.Length) return false;
        var bytes = new byte[need + 1];
        bytes[0] = (byte)lead;
        for (int k = 1; k <= need; k++)
        {
            int b = ByteOf(text[start + k]);
            if (b < 0x80 || b > 0xbf) return false;
            bytes[k] = (byte)b;
        }
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            // A private-use or unassigned result means the bytes were never UTF-8.
            var category = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(decoded, 0));
            return category is not (System.Globalization.UnicodeCategory.PrivateUse or System.Globalization.UnicodeCategory.OtherNotAssigned);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
