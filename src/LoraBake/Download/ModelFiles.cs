using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Download;

/// <summary>Where the files of a downloaded model are: the checkpoint and its tokenizer.</summary>
public static class ModelFiles
{
    /// <summary>The checkpoint file of a Download entry: a store blob, or the .safetensors inside a generated folder.</summary>
    public static string Checkpoint(DownloadedModel model, string downloadEntryDir, ArtifactStore store)
    {
        var path = model.Path(downloadEntryDir, store);
        if (!Directory.Exists(path)) return path;
        return Directory.EnumerateFiles(path, "*.safetensors").Concat(Directory.EnumerateFiles(path, "*.ckpt")).Order(StringComparer.Ordinal).FirstOrDefault()
               ?? throw new InvalidDataException($"{path}: the model folder has no .safetensors or .ckpt file");
    }

    /// <summary>The sidecar the Download stage kept with a local checkpoint, or null (then NAME.json beside the checkpoint, if any).</summary>
    public static string? Sidecar(string downloadEntryDir)
    {
        var path = Path.Combine(downloadEntryDir, DownloadStage.SidecarFile);
        return File.Exists(path) ? path : null;
    }

    /// <summary>
    /// The recipe's `model.tokenizer` (relative to the project); else the tokenizer the Download stage fetched
    /// into its entry; else the tokenizer/ folder beside the checkpoint (built-in models); else null.
    /// </summary>
    public static string? TokenizerDir(Recipe recipe, string projectDir, string checkpoint, string downloadEntryDir)
    {
        if (recipe.Model.Tokenizer is { } t) return Path.GetFullPath(Path.Combine(projectDir, t));
        var fetched = Path.Combine(downloadEntryDir, ClipTokenizerFiles.Folder);
        return File.Exists(Path.Combine(fetched, "vocab.json")) ? fetched : Sd1Model.DefaultTokenizerDir(checkpoint);
    }
}
