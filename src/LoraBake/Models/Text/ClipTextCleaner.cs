using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace LoraBake.Models.Text;

/// <summary>
/// The text cleaning transformers' CLIPTokenizer applies before BPE:
/// <c>whitespace_clean(ftfy.fix_text(text)).lower()</c>. Microsoft.ML.Tokenizers has no ftfy, so the parts of
/// ftfy 6.1's default <c>fix_text</c> that change prompts are re-implemented here, in ftfy's order: HTML
/// entities (skipped when the text holds a literal '&lt;', ftfy's "auto"), terminal escapes, mojibake
/// (<see cref="Mojibake"/>), C1 controls, Latin ligatures, full-width characters, curly quotes, line breaks,
/// control characters, NFC (<see cref="Nfc"/>: string.Normalize does nothing under InvariantGlobalization). Then whitespace is collapsed with Python's <c>\s</c> and the text lower-cased as
/// Python's <c>str.lower</c> does (full case mapping for U+0130, final sigma).
/// </summary>
public static partial class ClipTextCleaner
{
    public static string Clean(string text)
    {
        var fixedText = FixText(text);
        return PythonLower(CollapseWhitespace(fixedText));
    }

    /// <summary>ftfy.fix_text with its defaults, for the fixes that apply to prompts (see the class comment).</summary>
    public static string FixText(string text)
    {
        // ftfy fixes each line separately; "auto" HTML unescaping looks at each segment for a literal '<'.
        var sb = new StringBuilder(text.Length);
        bool unescapeHtml = true;
        foreach (var line in SplitKeepingNewlines(text))
        {
            // As in ftfy, once a segment holds a literal '<' the rest of the text is not unescaped either.
            if (line.Contains('<')) unescapeHtml = false;
            sb.Append(FixSegment(line, unescapeHtml));
        }
        return sb.ToString();
    }

    static IEnumerable<string> SplitKeepingNewlines(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n')
            {
                yield return text.Substring(start, i + 1 - start);
                start = i + 1;
            }
        }
        if (start < text.Length) yield return text[start..];
    }

    static string FixSegment(string text, bool unescapeHtml)
    {
        // ftfy repeats its fixes until the text stops changing.
        for (int round = 0; round < 16; round++)
        {
            var before = text;
            if (unescapeHtml) text = UnescapeHtml(text);
            text = TerminalEscape().Replace(text, "");
            text = Mojibake.Fix(text);
            text = FixC1Controls(text);
            text = FixLatinLigatures(text);
            text = FixCharacterWidth(text);
            text = UncurlQuotes(text);
            text = FixLineBreaks(text);
            text = RemoveControlChars(text);
            text = ReplaceLoneSurrogates(text);
            text = Nfc.Normalize(text);
            if (text == before) break;
        }
        return text;
    }

    // ftfy: HTML_ENTITY_RE = r"&#?[0-9A-Za-z]{1,24};"; unknown entities stay as they are. ftfy also decodes an
    // upper-cased lower-case entity name ("&EACUTE;" → "É"). .NET knows the HTML 4 names, not all of HTML5's.
    static string UnescapeHtml(string text) => HtmlEntity().Replace(text, m =>
    {
        var decoded = WebUtility.HtmlDecode(m.Value);
        if (!decoded.Contains(';')) return decoded;
        if (m.Value[1] != '#' && m.Value == m.Value.ToUpperInvariant())
        {
            var lower = WebUtility.HtmlDecode(m.Value.ToLowerInvariant());
            if (!lower.Contains(';')) return lower.ToUpperInvariant();
        }
        return m.Value;
    });

    [GeneratedRegex(@"&#?[0-9A-Za-z]{1,24};")]
    private static partial Regex HtmlEntity();

    [GeneratedRegex(@"\x1b\[((?:\d|;)*)([a-zA-Z])")]
    private static partial Regex TerminalEscape();

    // ftfy.fixes.fix_c1_controls: C1 control characters decoded as (sloppy) Windows-1252.
    static string FixC1Controls(string text)
    {
        if (!text.Any(c => c >= '\u0080' && c <= '\u009f')) return text;
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
            sb.Append(c >= '\u0080' && c <= '\u009f' ? Mojibake.SloppyCp1252ToChar((byte)c) : c);
        return sb.ToString();
    }

    static readonly Dictionary<char, string> Ligatures = new()
    {
        ['\u0132'] = "IJ", ['\u0133'] = "ij", ['\u0149'] = "\u02bcn",
        ['\u01f1'] = "DZ", ['\u01f2'] = "Dz", ['\u01f3'] = "dz",
        ['\u01c4'] = "D\u017d", ['\u01c5'] = "D\u017e", ['\u01c6'] = "d\u017e",
        ['\u01c7'] = "LJ", ['\u01c8'] = "Lj", ['\u01c9'] = "lj",
        ['\u01ca'] = "NJ", ['\u01cb'] = "Nj", ['\u01cc'] = "nj",
        ['\ufb00'] = "ff", ['\ufb01'] = "fi", ['\ufb02'] = "fl", ['\ufb03'] = "ffi", ['\ufb04'] = "ffl",
        ['\ufb05'] = "\u017ft", ['\ufb06'] = "st",
    };

    static string FixLatinLigatures(string text)
    {
        if (!text.Any(Ligatures.ContainsKey)) return text;
        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text) { if (Ligatures.TryGetValue(c, out var s)) sb.Append(s); else sb.Append(c); }
        return sb.ToString();
    }

    // ftfy.fixes.fix_character_width: U+3000 → space, U+FF01..U+FFEF → their NFKC form, one character at a time.
    static string FixCharacterWidth(string text)
    {
        if (!text.Any(c => c == '\u3000' || (c >= '\uff01' && c <= '\uffef'))) return text;
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c == '\u3000') sb.Append(' ');
            else if (c >= '\uff01' && c <= '\uffef' && Nfc.NarrowForm(c) is { } narrow) sb.Append(narrow);
            else sb.Append(c);
        }
        return sb.ToString();
    }

    // ftfy: SINGLE_QUOTE_RE = [\u02bc\u2018-\u201b], DOUBLE_QUOTE_RE = [\u201c-\u201f].
    static string UncurlQuotes(string text)
    {
        var chars = text.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (c == '\u02bc' || (c >= '\u2018' && c <= '\u201b')) chars[i] = '\'';
            else if (c >= '\u201c' && c <= '\u201f') chars[i] = '"';
        }
        return new string(chars);
    }

    static string FixLineBreaks(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n')
        .Replace('\u2028', '\n').Replace('\u2029', '\n').Replace('\u0085', '\n');

    // ftfy.chardata.CONTROL_CHARS: U+0000-0008, 000B, 000E-001F, 007F, 206A-206F, FEFF, FFF9-FFFC.
    static bool IsRemovedControl(char c) =>
        c <= '\u0008' || c == '\u000b' || (c >= '\u000e' && c <= '\u001f') || c == '\u007f'
        || (c >= '\u206a' && c <= '\u206f') || c == '\ufeff' || (c >= '\ufff9' && c <= '\ufffc');

    static string RemoveControlChars(string text) =>
        text.Any(IsRemovedControl) ? new string(text.Where(c => !IsRemovedControl(c)).ToArray()) : text;

    static string ReplaceLoneSurrogates(string text)
    {
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            var c = text[i];
            bool lone = char.IsHighSurrogate(c) ? !(i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                : char.IsLowSurrogate(c) && !(i > 0 && char.IsHighSurrogate(text[i - 1]));
            if (lone) { sb ??= new StringBuilder(text[..i]); sb.Append('\ufffd'); }
            else sb?.Append(c);
        }
        return sb?.ToString() ?? text;
    }

    /// <summary>Python's <c>str.isspace()</c> (what <c>\s</c> means in Python's regexes on str).</summary>
    public static bool IsPythonSpace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0d => true,
        >= 0x1c and <= 0x20 => true,
        0x85 or 0xa0 or 0x1680 or 0x2028 or 0x2029 or 0x202f or 0x205f or 0x3000 => true,
        >= 0x2000 and <= 0x200a => true,
        _ => false,
    };

    /// <summary>transformers' whitespace_clean: <c>re.sub(r"\s+", " ", text).strip()</c>.</summary>
    public static string CollapseWhitespace(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (var c in text)
        {
            if (IsPythonSpace(c)) { pendingSpace = true; continue; }
            if (pendingSpace && sb.Length > 0) sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Python's <c>str.lower()</c>: .NET's invariant lower-casing uses simple case mappings, Python the full
    /// ones; the differences that matter are U+0130 (→ "i̇") and Greek final sigma.
    /// </summary>
    public static string PythonLower(string text)
    {
        var lower = text.ToLowerInvariant();
        if (!text.Contains('\u0130') && !text.Contains('\u03a3')) return lower;
        var sb = new StringBuilder(text.Length + 2);
        for (int i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\u0130') sb.Append("i\u0307");
            else if (c == '\u03a3') sb.Append(IsFinalSigma(text, i) ? '\u03c2' : '\u03c3');
            else sb.Append(lower[i]);
        }
        return sb.ToString();
    }

    // Unicode Final_Sigma: preceded by a cased letter and not followed by one (case-ignorable characters
    // skipped), looking at whole code points.
    static bool IsFinalSigma(string s, int i)
    {
        int j = i;
        int before = -1;
        while (j > 0)
        {
            j -= j >= 2 && char.IsLowSurrogate(s[j - 1]) && char.IsHighSurrogate(s[j - 2]) ? 2 : 1;
            int cp = ClipPreTokenizer.CodePointAt(s, j, out _);
            if (!IsCaseIgnorable(cp)) { before = cp; break; }
        }
        if (before < 0 || !IsCased(before)) return false;
        int k = i + 1;
        while (k < s.Length)
        {
            int cp = ClipPreTokenizer.CodePointAt(s, k, out int w);
            if (!IsCaseIgnorable(cp)) return !IsCased(cp);
            k += w;
        }
        return true;
    }

    static bool IsCased(int cp) => cp is < 0xd800 or > 0xdfff && CharUnicodeInfo.GetUnicodeCategory(cp) is
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    static bool IsCaseIgnorable(int cp) => cp is '\'' or '.' or ':' or 0xb7 or 0x2019
        || (cp is < 0xd800 or > 0xdfff && CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.NonSpacingMark
            or UnicodeCategory.EnclosingMark or UnicodeCategory.Format or UnicodeCategory.ModifierLetter
            or UnicodeCategory.ModifierSymbol);

}
