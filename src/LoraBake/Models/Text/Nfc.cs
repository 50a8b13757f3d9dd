using System.Globalization;
using System.Text;

namespace LoraBake.Models.Text;

/// <summary>
/// Unicode NFC (UAX #15: canonical decomposition, canonical ordering, canonical composition) from the tables
/// in <see cref="UnicodeNfcData"/>. Needed because LoraBake runs with InvariantGlobalization, where
/// <c>string.Normalize</c> does not normalise non-ASCII text, and ftfy ends with NFC.
/// </summary>
public static class Nfc
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    static readonly Lazy<Tables> Data = new(Load);

    sealed record Tables(Dictionary<int, int[]> Decompositions, Dictionary<int, int> Ccc,
        Dictionary<(int, int), int> Compositions, Dictionary<char, string> Width);

    static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    static IEnumerable<string> Entries(string table) =>
        table.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries);

    static Tables Load()
    {
        var decompositions = new Dictionary<int, int[]>();
        foreach (var e in Entries(UnicodeNfcData.Decompositions))
        {
            var (cp, rest) = (e[..e.IndexOf('=')], e[(e.IndexOf('=') + 1)..]);
            decompositions[Hex(cp)] = rest.Split('.').Select(Hex).ToArray();
        }
        var ccc = new Dictionary<int, int>();
        foreach (var e in Entries(UnicodeNfcData.CombiningClasses))
        {
            var (range, cls) = (e[..e.IndexOf('=')], int.Parse(e[(e.IndexOf('=') + 1)..], CultureInfo.InvariantCulture));
            var bounds = range.Split('-').Select(Hex).ToArray();
            for (int cp = bounds[0]; cp <= bounds[^1]; cp++) ccc[cp] = cls;
        }
        var exclusions = Entries(UnicodeNfcData.CompositionExclusions).Select(Hex).ToHashSet();
        var compositions = new Dictionary<(int, int), int>();
        foreach (var (cp, parts) in decompositions)
            if (parts.Length == 2 && !exclusions.Contains(cp)) compositions[(parts[0], parts[1])] = cp;
        var width = new Dictionary<char, string>();
        foreach (var e in Entries(UnicodeNfcData.WidthMap))
            width[(char)Hex(e[..e.IndexOf('=')])] = string.Concat(e[(e.IndexOf('=') + 1)..].Split('.').Select(h => char.ConvertFromUtf32(Hex(h))));
        return new Tables(decompositions, ccc, compositions, width);
    }

    /// <summary>ftfy's width map: NFKC of one U+FF01..U+FFEF character, or null when it has none.</summary>
    public static string? NarrowForm(char c) => Data.Value.Width.TryGetValue(c, out var s) ? s : null;

    public static string Normalize(string text)
    {
        // Below U+0300 there are no combining marks, and precomposed Latin-1 letters are already NFC.
        if (text.All(c => c < '\u0300')) return text;
        var t = Data.Value;
        var cps = new List<int>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int cp = ClipPreTokenizer.CodePointAt(text, i, out int w);
            Decompose(cp, cps, t);
            i += w;
        }
        Reorder(cps, t);
        var composed = Compose(cps, t);
        var sb = new StringBuilder(text.Length);
        foreach (var cp in composed)
        {
            if (cp is >= 0xd800 and <= 0xdfff) sb.Append((char)cp); // a lone surrogate stays as it was
            else sb.Append(char.ConvertFromUtf32(cp));
        }
        return sb.ToString();
    }

    static int Ccc(int cp, Tables t) => t.Ccc.TryGetValue(cp, out var c) ? c : 0;

    static void Decompose(int cp, List<int> into, Tables t)
    {
        int s = cp - SBase;
        if (s is >= 0 and < SCount)
        {
            into.Add(LBase + s / NCount);
            into.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) into.Add(TBase + s % TCount);
            return;
        }
        if (t.Decompositions.TryGetValue(cp, out var parts))
            foreach (var p in parts) Decompose(p, into, t);
        else into.Add(cp);
    }

    // Canonical ordering: a stable sort of each run of non-starters by combining class.
    static void Reorder(List<int> cps, Tables t)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int c = Ccc(cps[i], t);
            if (c == 0) continue;
            int j = i;
            while (j > 0 && Ccc(cps[j - 1], t) > c)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    static List<int> Compose(List<int> cps, Tables t)
    {
        var result = new List<int>(cps.Count);
        int starter = -1, lastCcc = 0;
        foreach (var cp in cps)
        {
            int cc = Ccc(cp, t);
            if (starter >= 0)
            {
                bool adjacent = result.Count - 1 == starter;
                bool blocked = !adjacent && (lastCcc == 0 || lastCcc >= cc);
                if (!blocked && TryCompose(result[starter], cp, t, out int composite))
                {
                    result[starter] = composite;
                    continue;
                }
            }
            if (cc == 0) starter = result.Count;
            lastCcc = cc;
            result.Add(cp);
        }
        return result;
    }

    static bool TryCompose(int a, int b, Tables t, out int composite)
    {
        int l = a - LBase, v = b - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = a - SBase, tt = b - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && tt is > 0 and < TCount)
        {
            composite = a + tt;
            return true;
        }
        return t.Compositions.TryGetValue((a, b), out composite);
    }
}
