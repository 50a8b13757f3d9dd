using System.Text.Json;
using System.Text.Json.Serialization;
using LoraBake.Pipeline;

namespace LoraBake.Download;

/// <summary>
/// model.json (and vae.json) in the Download stage's output: what was fetched and where it is. A single file
/// lives in the store by its SHA-256 (<see cref="Path"/> resolves it); a built-in model made of several files
/// is a folder inside the entry. Later stages read it with <see cref="Load"/>.
/// </summary>
public sealed record DownloadedModel
{
    /// <summary>"model" or "vae".</summary>
    [JsonPropertyName("role")] public string Role { get; init; } = "model";
    /// <summary>As written in the recipe (preset name, builtin:NAME, URL, path).</summary>
    [JsonPropertyName("source")] public string Source { get; init; } = "";
    /// <summary>preset, builtin, url or local.</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "";
    /// <summary>The URL actually fetched, or the local file read; null for built-ins.</summary>
    [JsonPropertyName("location")] public string? Location { get; init; }
    [JsonPropertyName("file_name")] public string FileName { get; init; } = "";
    /// <summary>SHA-256 of the file; for a folder, of its sorted "name sha256" listing.</summary>
    [JsonPropertyName("sha256")] public string Sha256 { get; init; } = "";
    [JsonPropertyName("size")] public long Size { get; init; }
    /// <summary>safetensors, ckpt-zip, ckpt-pickle or directory (<see cref="ModelFileTypes.Name"/>).</summary>
    [JsonPropertyName("type")] public string Type { get; init; } = "";
    /// <summary>For a folder: its path inside the entry.</summary>
    [JsonPropertyName("folder")] public string? Folder { get; init; }

    public ModelFileType FileType => Type switch
    {
        "safetensors" => ModelFileType.Safetensors,
        "ckpt-zip" => ModelFileType.CkptZip,
        "ckpt-pickle" => ModelFileType.CkptPickle,
        "directory" => ModelFileType.Directory,
        _ => ModelFileType.Unknown,
    };

    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Options) + "\n";

    /// <summary>The model or VAE recorded in a Download entry; null when the entry has none (no VAE set).</summary>
    public static DownloadedModel? Load(string downloadEntryDir, string role = "model")
    {
        var path = System.IO.Path.Combine(downloadEntryDir, role + ".json");
        return File.Exists(path) ? JsonSerializer.Deserialize<DownloadedModel>(File.ReadAllText(path), Options) : null;
    }

    /// <summary>The file (a store blob, no extension: use <see cref="FileType"/>) or the folder holding the model.</summary>
    public string Path(string downloadEntryDir, ArtifactStore store) =>
        Folder != null ? System.IO.Path.Combine(downloadEntryDir, Folder) : store.BlobPath(Sha256);
}
