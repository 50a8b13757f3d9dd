using LoraBake.Runtime;

namespace LoraBake.Models.Vae;

/// <summary>
/// The architecture of an AutoencoderKL in diffusers' terms. Everything but the GroupNorm groups and eps can be
/// read from tensor shapes (<see cref="Infer"/>); those two come from a sidecar or SD's defaults (32, 1e-6).
/// </summary>
public sealed record VaeConfig(
    int InChannels,
    int OutChannels,
    int LatentChannels,
    int[] BlockOutChannels,
    int LayersPerBlock,
    int NormNumGroups = 32,
    double NormEps = 1e-6)
{
    /// <summary>SD 1.x's latent scaling factor (latents = posterior sample × 0.18215).</summary>
    public const double ScalingFactor = 0.18215;

    /// <summary>The SD 1.x VAE (diffusers AutoencoderKL defaults for SD1.5).</summary>
    public static VaeConfig Sd1 { get; } = new(3, 3, 4, new[] { 128, 256, 512, 512 }, 2);

    /// <summary>Reads the architecture from diffusers-keyed tensor shapes.</summary>
    public static VaeConfig Infer(IReadOnlyDictionary<string, long[]> shapes, int normNumGroups = 32, double normEps = 1e-6, string source = "VAE")
    {
        long[] Shape(string key) => shapes.TryGetValue(key, out var s) ? s
            : throw new UserError($"{source}: the VAE has no '{key}'; it is incomplete or not an AutoencoderKL.");
        var levels = 0;
        while (shapes.ContainsKey($"encoder.down_blocks.{levels}.resnets.0.conv1.weight")) levels++;
        if (levels == 0) Shape("encoder.down_blocks.0.resnets.0.conv1.weight");
        var channels = Enumerable.Range(0, levels).Select(i => (int)Shape($"encoder.down_blocks.{i}.resnets.0.conv1.weight")[0]).ToArray();
        var layers = 0;
        while (shapes.ContainsKey($"encoder.down_blocks.0.resnets.{layers}.conv1.weight")) layers++;
        var config = new VaeConfig(
            InChannels: (int)Shape("encoder.conv_in.weight")[1],
            OutChannels: (int)Shape("decoder.conv_out.weight")[0],
            LatentChannels: (int)Shape("post_quant_conv.weight")[0],
            BlockOutChannels: channels,
            LayersPerBlock: layers,
            NormNumGroups: normNumGroups,
            NormEps: normEps);
        foreach (var c in channels)
            if (c % normNumGroups != 0)
                throw new UserError($"{source}: {c} channels cannot be split into {normNumGroups} GroupNorm groups; set vae.norm_num_groups in the model's sidecar JSON.");
        return config;
    }

    public static VaeConfig Infer(IReadOnlyDictionary<string, TorchSharp.torch.Tensor> stateDict, int normNumGroups = 32, double normEps = 1e-6, string source = "VAE") =>
        Infer(stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.shape), normNumGroups, normEps, source);

    public bool Equals(VaeConfig? other) =>
        other is not null && InChannels == other.InChannels && OutChannels == other.OutChannels && LatentChannels == other.LatentChannels &&
        BlockOutChannels.SequenceEqual(other.BlockOutChannels) && LayersPerBlock == other.LayersPerBlock &&
        NormNumGroups == other.NormNumGroups && NormEps == other.NormEps;

    public override int GetHashCode() => HashCode.Combine(InChannels, LatentChannels, BlockOutChannels.Length, LayersPerBlock, NormNumGroups);
}
