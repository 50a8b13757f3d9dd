using System.Globalization;

namespace LoraBake.Models.Text;

/// <summary>
/// CLIP's pre-tokenising regex, <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>,
/// as a scanner over Unicode code points. Not Microsoft.ML.Tokenizers' RegexPreTokenizer: .NET regexes
/// classify UTF-16 code units, so a letter outside the BMP (e.g. CJK extension B) would fall into the
/// punctuation class there, while Python's <c>regex</c> module sees one letter.
/// </summary>
public static class ClipPreTokenizer
{
    public const string StartOfText = "<|startoftext|>";
    public const string EndOfText = "<|endoftext|>";
    static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>Splits cleaned (lower-cased) text into words; returns (start, length) in UTF-16 units.</summary>
    public static List<(int Start, int Length)> Split(string text)
    {
        var words = new List<(int, int)>();
        int i = 0;
        while (i < text.Length)
        {
            int cp = CodePointAt(text, i, out int width);
            if (ClipTextCleaner.IsPythonSpace(cp)) { i += width; continue; }
            int len = MatchAt(text, i);
            words.Add((i, len));
            i += len;
        }
        return words;
    }

    static int MatchAt(string text, int i)
    {
        // The pattern is applied with re.IGNORECASE; the text is already lower-cased, but compare ignoring case anyway.
        foreach (var literal in (ReadOnlySpan<string>)[StartOfText, EndOfText])
            if (i + literal.Length <= text.Length
                && string.Compare(text, i, literal, 0, literal.Length, StringComparison.OrdinalIgnoreCase) == 0) return literal.Length;
        foreach (var c in Contractions)
            if (i + c.Length <= text.Length && string.Compare(text, i, c, 0, c.Length, StringComparison.OrdinalIgnoreCase) == 0)
                return c.Length;

        int cp = CodePointAt(text, i, out int width);
        var kind = Kind(cp);
        if (kind == CharKind.Number) return width;
        int j = i + width;
        while (j < text.Length)
        {
            int next = CodePointAt(text, j, out int w);
            if (Kind(next) != kind) break;
            j += w;
        }
        return j - i;
    }

    /// <summary>The code point at <paramref name="index"/>; a lone surrogate stands for itself.</summary>
    internal static int CodePointAt(string s, int index, out int width)
    {
        if (char.IsHighSurrogate(s[index]) && index + 1 < s.Length && char.IsLowSurrogate(s[index + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(s[index], s[index + 1]);
        }
        width = 1;
        return s[index];
    }

    enum CharKind { Letter, Number, Space, Other }

    static CharKind Kind(int cp)
    {
        if (ClipTextCleaner.IsPythonSpace(cp)) return CharKind.Space;
        if (cp is >= 0xd800 and <= 0xdfff) return CharKind.Other; // a lone surrogate
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharKind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharKind.Number,
            _ => CharKind.Other,
        };
    }
}
