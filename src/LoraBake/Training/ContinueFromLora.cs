namespace LoraBake.Training;

/// <summary>
/// training.continue_from_lora (kohya --network_weights): a LoRA file that epoch 1 starts from. One place
/// resolves it, for the recipe check at plan time and for the epoch that opens it: relative to the project
/// folder (never the working directory), a local .safetensors file, no URL.
/// </summary>
public static class ContinueFromLora
{
    /// <summary>The absolute path of the file, or null with <paramref name="error"/> saying what is wrong and how to fix it.</summary>
    public static string? Resolve(string value, string projectDir, out string? error)
    {
        error = null;
        if (value.Contains("://", StringComparison.Ordinal))
        {
            error = $"\"{value}\" is a URL; continue_from_lora takes a local file: download the .safetensors into the project folder and write its path here (e.g. continue_from_lora: previous.safetensors)";
            return null;
        }
        var path = Path.GetFullPath(Path.Combine(projectDir, value));
        if (!File.Exists(path))
        {
            error = $"file {path} does not exist; the path is relative to the project folder {Path.GetFullPath(projectDir)}";
            return null;
        }
        return path;
    }
}
