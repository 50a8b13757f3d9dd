using System.Security.Cryptography;
using System.Text;

namespace LoraBake.Pipeline;

/// <summary>SHA-256 as lower-case hex: the one content hash of the store, the lock file and recipes' `sha256:` fields.</summary>
public static class Hashing
{
    public static string Sha256File(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string Sha256Text(string text) => Sha256(Encoding.UTF8.GetBytes(text));

    /// <summary>True for 64 hex digits (either case); recipes may write upper case, the store uses lower.</summary>
    public static bool IsSha256(string? value) =>
        value is { Length: 64 } && value.All(Uri.IsHexDigit);
}
