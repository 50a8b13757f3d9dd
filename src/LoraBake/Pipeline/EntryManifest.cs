using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoraBake.Pipeline;

/// <summary>
/// manifest.json of a committed store entry: size and SHA-256 of every file in the entry, the blobs it refers
/// to, and <see cref="Self"/>, the hash of all of that, so a truncated or edited manifest is detected.
/// </summary>
public sealed record EntryManifest
{
    public const string FileName = "manifest.json";

    [JsonPropertyName("files")] public SortedDictionary<string, ManifestFile> Files { get; init; } = new(StringComparer.Ordinal);
    [JsonPropertyName("blobs")] public SortedDictionary<string, long> Blobs { get; init; } = new(StringComparer.Ordinal);
    [JsonPropertyName("self")] public string Self { get; init; } = "";

    public sealed record ManifestFile([property: JsonPropertyName("size")] long Size, [property: JsonPropertyName("sha256")] string Sha256);

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ComputeSelf() => Hashing.Sha256Text(
        string.Concat(Files.Select(f => $"f {f.Key} {f.Value.Size} {f.Value.Sha256}\n")) +
        string.Concat(Blobs.Select(b => $"b {b.Key} {b.Value}\n")));

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>The manifest, or null when it is missing, unreadable or does not match its own hash.</summary>
    public static EntryManifest? TryRead(string path)
    {
        try
        {
            var m = JsonSerializer.Deserialize<EntryManifest>(File.ReadAllText(path), Options);
            return m != null && m.Self == m.ComputeSelf() ? m : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
