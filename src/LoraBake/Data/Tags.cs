using System.Text;

namespace LoraBake.Data;

/// <summary>
/// Caption files as kohya reads them (docs/kohya-compatibility.md, "Captions"): UTF-8 with or without BOM, CRLF or LF, only the
/// first line used; then split into booru tags on ",", trimmed, empties dropped and exact duplicates dropped
/// (first kept) so that a repeated tag is neither trained twice nor counted twice in tag frequency.
/// </summary>
public static class Tags
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The first line of a caption file (BOM and trailing CR removed), or null when the file is not UTF-8.</summary>
    public static string? ReadFirstLine(byte[] bytes)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(new byte[] { 0xEF, 0xBB, 0xBF })) span = span[3..];
        string text;
        try { text = StrictUtf8.GetString(span); }
        catch (DecoderFallbackException) { return null; }
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    /// <summary>Split a caption line into tags: on ",", trimmed, empties and exact duplicates dropped.</summary>
    public static IReadOnlyList<string> Split(string line)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in line.Split(','))
        {
            var tag = part.Trim();
            if (tag.Length == 0 || !seen.Add(tag)) continue;
            result.Add(tag);
        }
        return result;
    }

    /// <summary>
    /// ss_tag_frequency for one subset: {lower-cased tag: count}, kohya's count (set_tag_frequency): each caption as
    /// written split on ",", trimmed, empties skipped, lower-cased, every occurrence counted (a tag written twice
    /// counts twice), once per image regardless of repeats.
    /// </summary>
    public static SortedDictionary<string, int> Frequency(IEnumerable<string> captions)
    {
        var freq = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var caption in captions)
        {
            foreach (var part in caption.Split(','))
            {
                var tag = part.Trim();
                if (tag.Length == 0) continue;
                tag = tag.ToLowerInvariant();
                freq[tag] = freq.TryGetValue(tag, out var n) ? n + 1 : 1;
            }
        }
        return freq;
    }
}
