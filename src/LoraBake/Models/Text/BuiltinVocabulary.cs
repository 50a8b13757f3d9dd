using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoraBake.Models.Text;

/// <summary>
/// A small CLIP-style BPE vocabulary that LoraBake builds itself (the real CLIP vocabulary is not shipped):
/// the 256 byte tokens, the same with "&lt;/w&gt;", merges learned from <see cref="BuiltinCorpus"/>, then
/// <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c> as the last two ids — CLIP's layout, so
/// <see cref="ClipTokenizer"/> loads it. Training is deterministic (ties broken by ordinal order), so every
/// build writes the same bytes. Used by the built-in tiny model.
/// </summary>
public static class BuiltinVocabulary
{
    public const int MaxMerges = 1000;

    /// <summary>Vocabulary (token → id, in id order) and merges.</summary>
    public sealed record Data(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges);

    static readonly Lazy<Data> Built = new(Build);

    public static Data Get() => Built.Value;

    /// <summary>Writes vocab.json and merges.txt into <paramref name="directory"/> (atomically); returns the vocabulary size.</summary>
    public static int Write(string directory)
    {
        var data = Get();
        System.IO.Directory.CreateDirectory(directory);
        WriteAtomically(Path.Combine(directory, "vocab.json"), VocabJson(data));
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (l, r) in data.Merges) merges.Append(l).Append(' ').Append(r).Append('\n');
        WriteAtomically(Path.Combine(directory, "merges.txt"), new UTF8Encoding(false).GetBytes(merges.ToString()));
        return data.Tokens.Count;
    }

    static byte[] VocabJson(Data data)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            for (int i = 0; i < data.Tokens.Count; i++) w.WriteNumber(data.Tokens[i], i);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    static void WriteAtomically(string path, byte[] bytes)
    {
        var tmp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    static Data Build()
    {
        // CLIP's base vocabulary: bytes_to_unicode's characters in its order, then each with "</w>".
        var alphabet = ByteLevelAlphabet.ByteToChar;
        var order = Enumerable.Range(0, 256).Where(IsPrintable).Concat(Enumerable.Range(0, 256).Where(b => !IsPrintable(b)));
        var baseTokens = order.Select(b => alphabet[b].ToString()).ToList();
        var tokens = new List<string>(baseTokens);
        tokens.AddRange(baseTokens.Select(t => t + ClipTokenizer.EndOfWordSuffix));
        var known = new HashSet<string>(tokens, StringComparer.Ordinal);

        // Word frequencies of the cleaned, pre-tokenised corpus; each word as byte-level symbols.
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var cleaned = ClipTextCleaner.Clean(BuiltinCorpus.Text);
        foreach (var (start, length) in ClipPreTokenizer.Split(cleaned))
        {
            var word = ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(cleaned.Substring(start, length)));
            counts[word] = counts.GetValueOrDefault(word) + 1;
        }
        var words = counts.Select(kv => (Symbols: Symbols(kv.Key), Count: kv.Value)).ToList();

        var merges = new List<(string, string)>();
        while (merges.Count < MaxMerges)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First().Key;
            merges.Add(best);
            var merged = best.Item1 + best.Item2;
            if (known.Add(merged)) tokens.Add(merged);
            foreach (var (symbols, _) in words) MergeInPlace(symbols, best, merged);
        }
        tokens.Add(ClipPreTokenizer.StartOfText);
        tokens.Add(ClipPreTokenizer.EndOfText);
        return new Data(tokens, merges);
    }

    static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= 0xa1 and <= 0xac or >= 0xae and <= 0xff;

    static List<string> Symbols(string word)
    {
        var symbols = word.Select(c => c.ToString()).ToList();
        symbols[^1] += ClipTokenizer.EndOfWordSuffix;
        return symbols;
    }

    static void MergeInPlace(List<string> symbols, (string Left, string Right) pair, string merged)
    {
        for (int i = 0; i + 1 < symbols.Count; i++)
        {
            if (symbols[i] == pair.Left && symbols[i + 1] == pair.Right)
            {
                symbols[i] = merged;
                symbols.RemoveAt(i + 1);
            }
        }
    }
}
