using System.Text.RegularExpressions;
using LoraBake.Runtime;
using TorchSharp;

namespace LoraBake.Models.UNet;

/// <summary>
/// The architecture of an SD 1.x-style <see cref="UNet2DConditionModel"/> (diffusers' UNet2DConditionModel config,
/// restricted to what SD1 uses). Level i has <see cref="LayersPerBlock"/> resnets going down and one more going up;
/// every level but the last halves the resolution. <see cref="NumHeads"/> is a head COUNT, the same at every level
/// (diffusers' SD1 config calls it attention_head_dim): head_dim = channels / NumHeads.
/// </summary>
public sealed record UNetConfig(
    int InChannels,
    int OutChannels,
    IReadOnlyList<int> BlockOutChannels,
    int LayersPerBlock,
    IReadOnlyList<bool> CrossAttention,
    bool MidBlockCrossAttention,
    int CrossAttentionDim,
    int NumHeads,
    int NormNumGroups = 32,
    double NormEps = 1e-5,
    int TransformerDepth = 1)
{
    /// <summary>diffusers' time_embed_dim: 4 × the first level's channels.</summary>
    public int TimeEmbedDim => BlockOutChannels[0] * 4;

    public int Levels => BlockOutChannels.Count;

    /// <summary>runwayml/stable-diffusion-v1-5 (docs/kohya-compatibility.md, "SD 1.x configs").</summary>
    public static UNetConfig Sd15 { get; } = new(
        InChannels: 4, OutChannels: 4, BlockOutChannels: [320, 640, 1280, 1280], LayersPerBlock: 2,
        CrossAttention: [true, true, true, false], MidBlockCrossAttention: true, CrossAttentionDim: 768,
        NumHeads: 8, NormNumGroups: 32, NormEps: 1e-5, TransformerDepth: 1);

    /// <summary>Parameter shapes of a state dict, the input of <see cref="Infer"/>.</summary>
    public static Dictionary<string, long[]> ShapesOf(IReadOnlyDictionary<string, torch.Tensor> stateDict) =>
        stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.shape);

    /// <summary>
    /// Reads the architecture from diffusers-layout parameter shapes. Head count and GroupNorm groups leave no trace
    /// in shapes, so they are arguments (SD1.5: 8 heads, 32 groups).
    /// </summary>
    public static UNetConfig Infer(IReadOnlyDictionary<string, long[]> diffusersShapes, int numHeads = 8,
        int normNumGroups = 32, double normEps = 1e-5, string source = "UNet state dict")
    {
        long[] Shape(string key) => diffusersShapes.TryGetValue(key, out var s)
            ? s
            : throw new UserError($"{source}: missing '{key}', so this is not an SD1-style diffusers UNet. " +
                                  "Convert the checkpoint to diffusers key names first.");
        bool Has(string key) => diffusersShapes.ContainsKey(key);
        int CountIndices(string prefix)
        {
            var rx = new Regex("^" + Regex.Escape(prefix) + @"(\d+)\.");
            return diffusersShapes.Keys.Select(k => rx.Match(k)).Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(-1).Max() + 1;
        }

        var convIn = Shape("conv_in.weight");
        var convOut = Shape("conv_out.weight");
        int levels = CountIndices("down_blocks.");
        if (levels == 0 || CountIndices("up_blocks.") != levels)
            throw new UserError($"{source}: found {levels} down blocks and {CountIndices("up_blocks.")} up blocks; " +
                                "an SD1 UNet has the same number (at least one) of each.");

        var channels = new int[levels];
        var cross = new bool[levels];
        int layers = CountIndices("down_blocks.0.resnets.");
        for (int i = 0; i < levels; i++)
        {
            channels[i] = (int)Shape($"down_blocks.{i}.resnets.0.conv1.weight")[0];
            cross[i] = Has($"down_blocks.{i}.attentions.0.proj_in.weight");
            int downLayers = CountIndices($"down_blocks.{i}.resnets.");
            int up = levels - 1 - i;
            int upLayers = CountIndices($"up_blocks.{up}.resnets.");
            if (downLayers != layers || upLayers != layers + 1)
                throw new UserError($"{source}: level {i} has {downLayers} down / {upLayers} up resnets; expected " +
                                    $"{layers} / {layers + 1} at every level (diffusers layers_per_block).");
            if (Has($"up_blocks.{up}.attentions.0.proj_in.weight") != cross[i])
                throw new UserError($"{source}: down block {i} and up block {up} disagree on cross-attention; " +
                                    "SD1 UNets use it symmetrically.");
            bool lastLevel = i == levels - 1;
            if (Has($"down_blocks.{i}.downsamplers.0.conv.weight") == lastLevel)
                throw new UserError($"{source}: down block {i} {(lastLevel ? "has" : "lacks")} a downsampler; " +
                                    "SD1 UNets downsample after every level but the last.");
        }

        string? firstAttention = Enumerable.Range(0, levels).Where(i => cross[i])
            .Select(i => $"down_blocks.{i}.attentions.0.").FirstOrDefault();
        bool midCross = Has("mid_block.attentions.0.proj_in.weight");
        firstAttention ??= midCross ? "mid_block.attentions.0." : null;

        int contextDim = 768, depth = 1;
        if (firstAttention != null)
        {
            if (Shape(firstAttention + "proj_in.weight").Length != 4)
                throw new UserError($"{source}: '{firstAttention}proj_in.weight' is a Linear weight " +
                                    "(SD2's use_linear_projection); only SD1's 1×1-conv projection is supported.");
            contextDim = (int)Shape(firstAttention + "transformer_blocks.0.attn2.to_k.weight")[1];
            depth = CountIndices(firstAttention + "transformer_blocks.");
        }

        var config = new UNetConfig((int)convIn[1], (int)convOut[0], channels, layers, cross, midCross, contextDim,
            numHeads, normNumGroups, normEps, depth);
        config.Validate(source);
        return config;
    }

    /// <summary>Throws a <see cref="UserError"/> if the numbers cannot build a UNet.</summary>
    public void Validate(string source = "UNet config")
    {
        if (Levels == 0 || CrossAttention.Count != Levels)
            throw new UserError($"{source}: need at least one level and one cross-attention flag per level " +
                                $"(got {Levels} levels, {CrossAttention.Count} flags).");
        foreach (int c in BlockOutChannels)
        {
            if (c % NormNumGroups != 0)
                throw new UserError($"{source}: {c} channels do not split into {NormNumGroups} GroupNorm groups; " +
                                    "set the norm group count the checkpoint was made with.");
        }
        for (int i = 0; i < Levels; i++)
        {
            bool attends = CrossAttention[i] || (i == Levels - 1 && MidBlockCrossAttention);
            if (attends && BlockOutChannels[i] % NumHeads != 0)
                throw new UserError($"{source}: level {i} has {BlockOutChannels[i]} channels, not divisible by " +
                                    $"{NumHeads} attention heads; set the head count the checkpoint was made with.");
        }
    }
}
