using System.Text.Json;
using LoraBake.Runtime;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// `NAME.json` next to `NAME.safetensors`: the architecture facts weight shapes cannot tell (head counts, VAE
/// GroupNorm groups and eps). Same shape as the goldens' config.json; every field is optional.
/// </summary>
public sealed record Sd1Sidecar(string Path, int? UnetHeads, int? TextHeads, int? VaeNormGroups, double? VaeNormEps, double? VaeScalingFactor,
    int? UnetNormGroups = null, double? UnetNormEps = null)
{
    /// <summary>The sidecar for <paramref name="weightsPath"/>, or null when there is none.</summary>
    public static Sd1Sidecar? For(string weightsPath)
    {
        var path = System.IO.Path.ChangeExtension(weightsPath, ".json");
        return File.Exists(path) && path != weightsPath ? Read(path) : null;
    }

    public static Sd1Sidecar Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            JsonElement? Section(string name) => root.TryGetProperty(name, out var s) && s.ValueKind == JsonValueKind.Object ? s : null;
            int? Int(JsonElement? s, string name) =>
                s is { } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
            double? Num(JsonElement? s, string name) =>
                s is { } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
            var unet = Section("unet");
            var text = Section("text_encoder");
            var vae = Section("vae");
            return new Sd1Sidecar(path, Int(unet, "num_heads"), Int(text, "num_heads"), Int(vae, "norm_num_groups"),
                Num(vae, "norm_eps"), Num(vae, "scaling_factor"), Int(unet, "norm_num_groups"), Num(unet, "norm_eps"));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new UserError($"{path}: this model sidecar is not valid JSON ({e.Message}). Fix it or remove it " +
                                "(it is only needed for non-standard head counts, e.g. {\"unet\": {\"num_heads\": 8}, \"text_encoder\": {\"num_heads\": 12}}).");
        }
    }
}
