using System.Security.Cryptography;
using LoraBake.Models.Checkpoints;
using LoraBake.Pipeline;

namespace LoraBake.Sampling;

/// <summary>The short hashes webui writes into infotext, so its PNG Info and civitai recognise the files.</summary>
public static class WebuiHashes
{
    /// <summary>"Model hash": the first 10 hex digits of the checkpoint file's SHA-256 (webui's <c>shorthash</c>).</summary>
    public static string ModelHash(string checkpointPath) => Hashing.Sha256File(checkpointPath)[..10];

    /// <summary>
    /// A LoRA's entry in "Lora hashes": 12 hex digits of the sd-webui-additional-networks hash (SHA-256 of the
    /// tensor data after the safetensors header), taken from the <c>sshs_model_hash</c> metadata when kohya
    /// stored it, as webui's <c>NetworkOnDisk</c> does.
    /// </summary>
    public static string LoraHash(string path)
    {
        var file = SafetensorsFile.Open(path);
        if (file.Metadata.TryGetValue("sshs_model_hash", out var stored) && Hashing.IsSha256(stored)) return stored[..12].ToLowerInvariant();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        stream.Seek(file.DataStart, SeekOrigin.Begin);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..12];
    }
}
