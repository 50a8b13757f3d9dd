using System.Text.RegularExpressions;
using LoraBake.Pipeline;
using LoraBake.Sampling;

namespace LoraBake.Evaluation;

/// <summary>A <c>&lt;lora:NAME:W&gt;</c> file named in an evaluation prompt: its name, where it is, its content hash.</summary>
public sealed record PromptLora(string Name, string Path, string Sha256);

/// <summary>
/// LoRA tags inside evaluation prompts (webui's <c>&lt;lora:NAME:W&gt;</c>, e.g. a style LoRA next to the one
/// being trained). One place says where NAME.safetensors is — the project folder, never the working
/// directory — for the recipe check at plan time, the Evaluate fingerprint, the cell keys and the renderer.
/// </summary>
public static partial class PromptLoras
{
    [GeneratedRegex(@"<(lora|lyco):[^>]+>")]
    private static partial Regex Tag();

    /// <summary>Where NAME.safetensors is looked for: the project folder.</summary>
    public static IReadOnlyList<string> Folders(string projectDir) => [projectDir];

    /// <summary>Every LoRA a text names (any prompt or axis value), resolved; throws a UserError naming the file when one is missing.</summary>
    public static IReadOnlyList<PromptLora> In(string text, string projectDir)
    {
        if (!Tag().IsMatch(text)) return [];
        var (_, tags) = LoraPromptSyntax.Extract(string.Concat(Tag().Matches(text).Select(m => m.Value)));
        return tags.DistinctBy(t => t.Name).Select(t =>
        {
            var path = LoraPromptSyntax.Resolve(t.Name, Folders(projectDir));
            return new PromptLora(t.Name, path, Hashing.Sha256File(path));
        }).ToList();
    }

    /// <summary>The cell-key line for a prompt's LoRAs ("NAME=sha256,…"), or null when it names none.</summary>
    public static string? KeyOf(string prompt, string projectDir)
    {
        var loras = In(prompt, projectDir);
        return loras.Count == 0 ? null : string.Join(",", loras.Select(l => $"{l.Name}={l.Sha256}"));
    }
}
