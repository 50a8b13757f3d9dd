using System.Collections.Concurrent;
using LoraBake.Runtime;
using Microsoft.ML.Tokenizers;

namespace LoraBake.Models.Text;

/// <summary>One BPE token: its id and its vocabulary string (byte-level, "&lt;/w&gt;" marks a word end).</summary>
public readonly record struct ClipToken(int Id, string Text);

/// <summary>
/// CLIP's tokenizer (transformers' CLIPTokenizer, slow) from a folder with <c>vocab.json</c> and
/// <c>merges.txt</c>: raw text is split on the literal special tokens, each piece is cleaned
/// (<see cref="ClipTextCleaner"/>), split into words (<see cref="ClipPreTokenizer"/>) and each word is
/// BPE-encoded by Microsoft.ML.Tokenizers' byte-level <see cref="BpeTokenizer"/> with the "&lt;/w&gt;"
/// end-of-word suffix. The library's own normaliser/pre-tokeniser hooks are not used: cleaning needs ftfy's
/// fixes and the split needs code-point classes (see those classes).
/// </summary>
public sealed class ClipTokenizer
{
    public const int DefaultMaxLength = 77;
    public const string EndOfWordSuffix = "</w>";

    readonly BpeTokenizer _bpe;
    readonly ConcurrentDictionary<string, ClipToken[]> _cache = new();
    readonly Lazy<Dictionary<int, string>> _idToToken;

    public string Directory { get; }
    public int BosId { get; }
    public int EosId { get; }
    /// <summary>SD1 pads with the end-of-text token.</summary>
    public int PadId => EosId;
    public int VocabSize { get; }

    ClipTokenizer(string directory, BpeTokenizer bpe, int bosId, int eosId, int vocabSize)
    {
        Directory = directory;
        _bpe = bpe;
        BosId = bosId;
        EosId = eosId;
        VocabSize = vocabSize;
        _idToToken = new(() => bpe.Vocabulary.ToDictionary(kv => kv.Value, kv => kv.Key));
    }

    public static ClipTokenizer Load(string directory)
    {
        var vocabPath = Path.Combine(directory, "vocab.json");
        var mergesPath = Path.Combine(directory, "merges.txt");
        foreach (var p in new[] { vocabPath, mergesPath })
            if (!File.Exists(p))
                throw new UserError($"Tokenizer folder '{directory}': '{Path.GetFileName(p)}' is missing. A CLIP tokenizer " +
                                    "folder holds vocab.json and merges.txt (e.g. the 'tokenizer' folder of a diffusers SD1.5 model).");
        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocabPath, mergesPath)
            {
                ByteLevel = true,
                EndOfWordSuffix = EndOfWordSuffix,
            });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or System.Text.Json.JsonException)
        {
            throw new UserError($"Tokenizer folder '{directory}': vocab.json or merges.txt cannot be read ({e.Message}). " +
                                "Replace them with the files of a CLIP tokenizer.", inner: e);
        }
        int Special(string token) => bpe.Vocabulary.TryGetValue(token, out var id) ? id
            : throw new UserError($"Tokenizer folder '{directory}': vocab.json has no '{token}' entry; a CLIP vocabulary " +
                                  "ends with <|startoftext|> and <|endoftext|>.");
        return new ClipTokenizer(directory, bpe, Special(ClipPreTokenizer.StartOfText), Special(ClipPreTokenizer.EndOfText),
            bpe.Vocabulary.Count);
    }

    /// <summary>All BPE tokens of <paramref name="text"/>, without BOS/EOS, untruncated.</summary>
    public List<ClipToken> Tokenize(string text)
    {
        var tokens = new List<ClipToken>();
        // transformers splits the raw text on the added (special) tokens before cleaning.
        int pos = 0;
        while (pos <= text.Length)
        {
            int next = NextSpecial(text, pos, out var special);
            var piece = next < 0 ? text[pos..] : text[pos..next];
            TokenizePiece(piece, tokens);
            if (next < 0) break;
            tokens.Add(new ClipToken(special == ClipPreTokenizer.StartOfText ? BosId : EosId, special));
            pos = next + special.Length;
        }
        return tokens;
    }

    /// <summary>All BPE ids of <paramref name="text"/>, without BOS/EOS, untruncated (what 75-token chunking needs).</summary>
    public int[] EncodeIds(string text) => Tokenize(text).Select(t => t.Id).ToArray();

    /// <summary>
    /// What SD1's tokenizer call gives (<c>padding="max_length", truncation=True</c>):
    /// BOS + the first <c>maxLength-2</c> ids + EOS, padded with <see cref="PadId"/> to <paramref name="maxLength"/>.
    /// </summary>
    public int[] EncodePadded(string text, int maxLength = DefaultMaxLength) => Pad(EncodeIds(text), maxLength);

    /// <summary>BOS + ids (truncated to maxLength-2) + EOS + pad.</summary>
    public int[] Pad(IReadOnlyList<int> ids, int maxLength = DefaultMaxLength)
    {
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength));
        var result = new int[maxLength];
        Array.Fill(result, PadId);
        result[0] = BosId;
        int n = Math.Min(ids.Count, maxLength - 2);
        for (int i = 0; i < n; i++) result[1 + i] = ids[i];
        result[1 + n] = EosId;
        return result;
    }

    public int? TokenToId(string token) => _bpe.Vocabulary.TryGetValue(token, out var id) ? id : null;

    public string? IdToToken(int id) => _idToToken.Value.TryGetValue(id, out var t) ? t : null;

    /// <summary>Text of ids, with "&lt;/w&gt;" turned back into spaces (as CLIPTokenizer.decode does).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (id == BosId || id == EosId) continue;
            var token = IdToToken(id) ?? "";
            bool wordEnd = token.EndsWith(EndOfWordSuffix, StringComparison.Ordinal);
            bytes.AddRange(ByteLevelAlphabet.Decode(wordEnd ? token[..^EndOfWordSuffix.Length] : token));
            if (wordEnd) bytes.Add((byte)' ');
        }
        return System.Text.Encoding.UTF8.GetString(bytes.ToArray()).Trim();
    }

    static int NextSpecial(string text, int from, out string special)
    {
        int s = text.IndexOf(ClipPreTokenizer.StartOfText, from, StringComparison.Ordinal);
        int e = text.IndexOf(ClipPreTokenizer.EndOfText, from, StringComparison.Ordinal);
        if (s < 0 && e < 0) { special = ""; return -1; }
        if (s >= 0 && (e < 0 || s < e)) { special = ClipPreTokenizer.StartOfText; return s; }
        special = ClipPreTokenizer.EndOfText;
        return e;
    }

    void TokenizePiece(string piece, List<ClipToken> tokens)
    {
        var cleaned = ClipTextCleaner.Clean(piece);
        foreach (var (start, length) in ClipPreTokenizer.Split(cleaned))
            tokens.AddRange(EncodeWord(cleaned.Substring(start, length)));
    }

    ClipToken[] EncodeWord(string word) => _cache.GetOrAdd(word, w =>
    {
        // The regex's literal alternatives: slow CLIPTokenizer's BPE cache maps them to the special tokens.
        if (w == ClipPreTokenizer.StartOfText) return [new ClipToken(BosId, w)];
        if (w == ClipPreTokenizer.EndOfText) return [new ClipToken(EosId, w)];
        var encoded = _bpe.EncodeToTokens(w, out _, considerPreTokenization: false, considerNormalization: false);
        return encoded.Select(t => new ClipToken(t.Id, t.Value)).ToArray();
    });
}
