using TorchSharp;
using LoraBake.Numerics;
using LoraBake.Models.Checkpoints;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// A loaded SD 1.x model: tokenizer, text encoder, UNet and VAE, built from one single-file checkpoint
/// (and an optional separate VAE). Frozen: every parameter has requires_grad false. <see cref="FrozenDtype"/>
/// is what the base weights are held in (fp32, or bf16/fp16 to save memory and time); LoRA weights and
/// optimizer state stay fp32 regardless.
/// </summary>
public sealed class Sd1Model : IDisposable
{
    public required ClipTokenizer Tokenizer { get; init; }
    public required ClipTextModel TextEncoder { get; init; }
    public required UNet2DConditionModel Unet { get; init; }
    public required AutoencoderKL Vae { get; init; }
    public required string CheckpointPath { get; init; }
    public required ScalarType FrozenDtype { get; init; }
    /// <summary>How the frozen weights are held and computed with (bf16 held, fp32 math where this CPU's bf16 is wrong).</summary>
    public FrozenPrecision Precision => new(FrozenDtype, Unet.Dtype);

    /// <summary>Where the model runs (its UNet's parameters); noise, ids and latents are moved here.</summary>
    public Device Device => Unet.ParameterDevice();

    /// <param name="tokenizerDir">A folder with vocab.json and merges.txt; null = `tokenizer/` next to the checkpoint.</param>
    public static Sd1Model Load(string checkpointPath, string? vaePath = null, string? tokenizerDir = null,
        ScalarType frozenDtype = ScalarType.Float32, string? sidecarPath = null, Device? device = null)
    {
        tokenizerDir ??= DefaultTokenizerDir(checkpointPath)
            ?? throw new UserError($"{checkpointPath}: no tokenizer found. Set `model.tokenizer:` in the recipe (or --tokenizer) to a folder " +
                                   "with the CLIP vocab.json and merges.txt (openai/clip-vit-large-patch14), or put a tokenizer/ folder next to the checkpoint.");
        var tokenizer = ClipTokenizer.Load(tokenizerDir);
        using var ckpt = Sd1Checkpoint.Open(checkpointPath, vaePath, sidecarPath: sidecarPath);
        var text = ClipTextModel.FromStateDict(ckpt.TextStateDict, ckpt.TextHeads, dtype: frozenDtype, source: checkpointPath, eosTokenId: tokenizer.EosId);
        var unet = UNet2DConditionModel.FromDiffusersStateDict(ckpt.UnetStateDict, ckpt.UnetHeads, ckpt.UnetNormGroups, ckpt.UnetNormEps,
            dtype: frozenDtype, source: checkpointPath);
        // bf16 where this CPU's bf16 math is wrong: the bf16 model's weights, computed in fp32.
        var precision = FrozenPrecision.For(frozenDtype, device?.type ?? DeviceType.CPU);
        precision.WidenAllButProducts(text);
        precision.WidenAllButProducts(unet);
        // The VAE stays fp32: it runs once per image (latents are cached) and is the least bf16-tolerant part.
        var vae = AutoencoderKL.FromStateDict(ckpt.VaeStateDict, ckpt.VaeNormGroups, ckpt.VaeNormEps, source: vaePath ?? checkpointPath);
        foreach (var m in new nn.Module[] { text, unet, vae })
        {
            // Weights are read on the CPU and moved once; everything the callers make follows the model's device.
            if (device is not null && device.type != DeviceType.CPU) m.to(device);
            m.eval();
            foreach (var p in m.parameters()) p.requires_grad = false;
        }
        if (tokenizer.VocabSize > text.Config.VocabSize)
            throw new UserError($"{tokenizerDir}: the tokenizer has {tokenizer.VocabSize} tokens but the text encoder of {checkpointPath} only " +
                                $"{text.Config.VocabSize}; they belong to different models.");
        return new Sd1Model
        {
            Tokenizer = tokenizer, TextEncoder = text, Unet = unet, Vae = vae,
            CheckpointPath = checkpointPath, FrozenDtype = frozenDtype,
        };
    }

    /// <summary>`tokenizer/` beside the checkpoint (how built-in models ship theirs), if it has the two files.</summary>
    public static string? DefaultTokenizerDir(string checkpointPath)
    {
        var dir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath)) ?? ".", "tokenizer");
        return File.Exists(Path.Combine(dir, "vocab.json")) && File.Exists(Path.Combine(dir, "merges.txt")) ? dir : null;
    }

    public void Dispose()
    {
        TextEncoder.Dispose();
        Unet.Dispose();
        Vae.Dispose();
    }
}
