using System.Text.RegularExpressions;

namespace LoraBake.Recipes;

public enum ModelSourceKind { Preset, Builtin, Url, LocalFile }

/// <summary>
/// Where `model.source` (or `model.vae`) points, resolved: a preset's URL, a built-in test model, a download
/// URL (Hugging Face `/blob/` links and civitai page links turned into download links, as the colab does),
/// or an absolute local path.
/// </summary>
public sealed record ModelSource(ModelSourceKind Kind, string Location, string FileName, string? Sha256, ModelPreset? Preset = null)
{
    /// <summary>The built-in models, written `builtin:NAME`.</summary>
    public static readonly IReadOnlyList<string> BuiltinNames = ["tiny-sd1", "toy-sd1"];

    /// <summary>
    /// Resolves <paramref name="source"/>; relative local paths are taken from <paramref name="projectDir"/>.
    /// Returns null with <paramref name="error"/> set when the source cannot be used (unknown builtin, bad URL,
    /// missing file).
    /// </summary>
    public static ModelSource? Resolve(string source, string? sha256, string projectDir, out string? error, bool allowPresets = true)
    {
        error = null;
        var s = source.Trim();
        if (s.Length == 0) { error = "is empty; use anime, anylora, sd15, an http(s) URL or a path to a .safetensors/.ckpt file"; return null; }
        if (allowPresets && ModelPresets.Find(s) is { } preset)
            return new ModelSource(ModelSourceKind.Preset, preset.Url, preset.FileName, sha256 ?? preset.Sha256, preset);
        if (s.StartsWith("builtin:", StringComparison.OrdinalIgnoreCase))
        {
            var name = s["builtin:".Length..];
            if (BuiltinNames.Contains(name)) return new ModelSource(ModelSourceKind.Builtin, name, name, sha256);
            error = $"\"{s}\" is not a built-in model; available: {string.Join(", ", BuiltinNames.Select(n => "builtin:" + n))}";
            return null;
        }
        if (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(s, UriKind.Absolute, out var uri)) { error = $"\"{s}\" is not a valid URL"; return null; }
            var url = DownloadUrl(uri);
            if (uri.Host.EndsWith("civitai.com", StringComparison.OrdinalIgnoreCase) && url == uri.ToString() && !uri.AbsolutePath.StartsWith("/api/", StringComparison.Ordinal))
            {
                error = $"\"{s}\" is a civitai page without a version; open the version you want and copy the link with ?modelVersionId=N";
                return null;
            }
            var file = Uri.UnescapeDataString(new Uri(url).AbsolutePath.Split('/').Last());
            return new ModelSource(ModelSourceKind.Url, url, file.Length == 0 ? "model.safetensors" : file, sha256);
        }
        if (Regex.IsMatch(s, "^[a-z][a-z0-9+.-]*://", RegexOptions.IgnoreCase))
        {
            error = $"\"{s}\" uses an unsupported scheme; use http(s) URLs or local paths";
            return null;
        }
        var path = Path.GetFullPath(Path.Combine(projectDir, s));
        if (!File.Exists(path))
        {
            error = $"file {path} does not exist; check the path (relative paths start at the project folder) or use a preset: anime, anylora, sd15";
            return null;
        }
        return new ModelSource(ModelSourceKind.LocalFile, path, Path.GetFileName(path), sha256);
    }

    /// <summary>Hugging Face `/blob/` → `/resolve/`; civitai `models/N?modelVersionId=V` → `api/download/models/V`.</summary>
    public static string DownloadUrl(Uri uri)
    {
        var s = uri.ToString();
        if (uri.Host.EndsWith("huggingface.co", StringComparison.OrdinalIgnoreCase))
            return new Regex("/blob/").Replace(s, "/resolve/", 1);
        if (uri.Host.EndsWith("civitai.com", StringComparison.OrdinalIgnoreCase) && uri.AbsolutePath.StartsWith("/models/", StringComparison.Ordinal))
        {
            var m = Regex.Match(uri.Query, @"[?&]modelVersionId=(\d+)");
            if (m.Success) return $"https://civitai.com/api/download/models/{m.Groups[1].Value}";
        }
        return s;
    }
}
