using LoraBake.Models.Checkpoints;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// `builtin:toy-sd1`: a small SD1-architecture model pretrained by LoraBake itself on the procedural toy world
/// (<see cref="ToyWorld.ToyPretrainer"/>, `lorabake pretrain-toy`), so prompts like "large red circle on blue background"
/// render recognisably at 64×64. Unlike <see cref="TinySd1"/> its weights are not generated at build time: the
/// pretrained checkpoint and sidecar are committed under Models/Builtin/toy-sd1/ and embedded in the assembly;
/// <see cref="Write"/> copies them out and writes the tokenizer (<see cref="BuiltinVocabulary"/>, the same as tiny-sd1's).
/// </summary>
public static class ToySd1
{
    public const string Name = "toy-sd1";
    /// <summary>Bump when the shipped checkpoint changes (the Download fingerprint includes it).</summary>
    public const int Version = 4;
    public const string CheckpointFile = "toy-sd1.safetensors";
    public const string SidecarFile = "toy-sd1.json";
    public const string TokenizerFolder = "tokenizer";
    /// <summary>The resolution the base was pretrained at (8×8 latents).</summary>
    public const int Resolution = 64;

    public static ClipTextConfig TextConfig(int vocab) => new(VocabSize: vocab, HiddenSize: 64, NumHiddenLayers: 3, NumAttentionHeads: 4,
        IntermediateSize: 128, MaxPositionEmbeddings: 77, EosTokenId: vocab - 1);

    public static UNetConfig UnetConfig(int contextDim) => new(
        InChannels: 4, OutChannels: 4, BlockOutChannels: [32, 64], LayersPerBlock: 2,
        CrossAttention: [true, true], MidBlockCrossAttention: true, CrossAttentionDim: contextDim,
        NumHeads: 2, NormNumGroups: 8);

    public static readonly VaeConfig VaeConfig = new(3, 3, 4, [8, 16, 16, 16], 2, NormNumGroups: 4, NormEps: 1e-6);

    /// <summary>Copies the shipped checkpoint and sidecar into <paramref name="directory"/> and writes the tokenizer.</summary>
    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var file in new[] { CheckpointFile, SidecarFile })
        {
            using var resource = typeof(ToySd1).Assembly.GetManifestResourceStream(Name + "/" + file)
                ?? throw new UserError($"builtin:{Name}: this build of LoraBake has no {file} (src/LoraBake/Models/Builtin/{Name}/ was empty " +
                                       "when it was built); run `lorabake pretrain-toy` to make it, then rebuild.");
            using var output = File.Create(Path.Combine(directory, file));
            resource.CopyTo(output);
        }
        BuiltinVocabulary.Write(Path.Combine(directory, TokenizerFolder));
    }

    /// <summary>Writes a trained model as the shipped files: checkpoint (original single-file layout), sidecar, tokenizer.</summary>
    public static void Save(string directory, ClipTextModel text, UNet2DConditionModel unet, AutoencoderKL vae, IReadOnlyDictionary<string, string> metadata)
    {
        Directory.CreateDirectory(directory);
        BuiltinVocabulary.Write(Path.Combine(directory, TokenizerFolder));
        // fp16 on disk, as most SD checkpoints are: half the size (about 4 MB); the loader widens it to fp32.
        var weights = Sd1Checkpoint.ToOriginalLayout(TinySd1.StateDict(unet), TinySd1.StateDict(vae), TinySd1.StateDict(text))
            .ToDictionary(kv => kv.Key, kv => kv.Value.dtype == ScalarType.Float32 ? kv.Value.to(ScalarType.Float16) : kv.Value);
        var meta = new Dictionary<string, string>(metadata) { ["lorabake.builtin"] = $"{Name} v{Version}" };
        SafetensorsWriter.Save(Path.Combine(directory, CheckpointFile), weights, meta);
        File.WriteAllText(Path.Combine(directory, SidecarFile),
            TinySd1.Sidecar(Name, "stable-diffusion-1.x (toy built-in; pretrained on the LoraBake toy world at 64 px)", text.Config, unet.Config, vae.Config));
    }
}
