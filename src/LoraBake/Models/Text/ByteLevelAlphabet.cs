namespace LoraBake.Models.Text;

/// <summary>
/// GPT-2/CLIP's <c>bytes_to_unicode</c>: each byte is shown as a printable character so that byte-level
/// BPE tokens are plain strings (printable Latin-1 bytes stand for themselves, the rest move to U+0100+).
/// </summary>
public static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = Build();
    static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    static char[] Build()
    {
        var map = new char[256];
        var printable = new bool[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xa1; b <= 0xac; b++) printable[b] = true;
        for (int b = 0xae; b <= 0xff; b++) printable[b] = true;
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = printable[b] ? (char)b : (char)(256 + n++);
        return map;
    }

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>The bytes behind a byte-level string; characters outside the alphabet are skipped.</summary>
    public static byte[] Decode(string text)
    {
        var bytes = new List<byte>(text.Length);
        foreach (var c in text) if (CharToByte.TryGetValue(c, out var b)) bytes.Add(b);
        return bytes.ToArray();
    }
}
