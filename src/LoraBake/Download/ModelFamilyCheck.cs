using LoraBake.Models.Checkpoints;
using LoraBake.Pipeline;
using LoraBake.Runtime;

namespace LoraBake.Download;

/// <summary>
/// Download's look inside the model it stored: the header (or, for a .ckpt, the pickle's key names, no tensor data)
/// must be readable and must not be another family. Refusing an SD 2.x or SDXL file here, in words that name what
/// the user wrote, beats finding out at Train-Epoch-01 with a store hash in the message.
/// </summary>
public static class ModelFamilyCheck
{
    /// <summary>Families that are certainly not an SD 1.x checkpoint (an unrecognised key set is left to the loader).</summary>
    static readonly HashSet<ModelFamily> Refused =
    [
        ModelFamily.Sd2, ModelFamily.Sdxl, ModelFamily.Sd3, ModelFamily.Flux, ModelFamily.Vae, ModelFamily.DiffusersUnet,
        ModelFamily.Lora, ModelFamily.LoCon, ModelFamily.LoHa, ModelFamily.LoKr,
    ];

    /// <param name="path">The stored file (a blob); messages name <paramref name="source"/> instead.</param>
    /// <param name="what">"model.source in projects/NAME/project.yaml".</param>
    /// <param name="source">The source as the recipe wrote it (preset, URL or path).</param>
    public static void RequireSd1(string path, ModelFileType type, string what, string source)
    {
        FamilyDetection family;
        try
        {
            IReadOnlyList<string>? keys = type switch
            {
                ModelFileType.Safetensors => SafetensorsFile.Open(path).Keys.ToList(),
                ModelFileType.CkptZip => CkptReader.Keys(path),
                _ => null,   // a legacy pickle has no cheap key listing; the loader reads it at training time
            };
            if (keys is null) return;
            family = FamilyDetection.Detect(keys);
        }
        catch (UserError e)
        {
            var detail = e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message;
            throw new UserError($"{what}: {source}: {detail}", inner: e);
        }
        if (Refused.Contains(family.Family))
            throw new UserError($"{what}: {source} is {family.Describe()} (it has `{family.Evidence}`), but LoraBake trains LoRAs on " +
                "SD 1.x checkpoints only. Use an SD 1.5-based model (the presets anime, anylora and sd15 are); `lorabake inspect FILE` tells what a file is.");
    }
}
