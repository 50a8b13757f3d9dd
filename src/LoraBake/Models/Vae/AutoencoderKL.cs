using LoraBake.Models;
using LoraBake.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.Vae;

/// <summary>
/// Stable Diffusion's KL autoencoder with diffusers module names (`encoder.…`, `quant_conv`, `post_quant_conv`,
/// `decoder.…`), so a diffusers-keyed state dict (e.g. <c>Sd1Checkpoint.VaeStateDict</c>) loads strictly.
/// Images are [B, 3, H, W] in [-1, 1]; latents are [B, 4, H/8, W/8] before scaling by <see cref="ScalingFactor"/>.
/// </summary>
public sealed class AutoencoderKL : nn.Module<Tensor, Tensor>
{
    public const double ScalingFactor = VaeConfig.ScalingFactor;

    readonly VaeEncoder encoder;
    readonly GuardedConv2d quant_conv;
    readonly GuardedConv2d post_quant_conv;
    readonly VaeDecoder decoder;

    public VaeConfig Config { get; }

    public AutoencoderKL(VaeConfig config, Device? device = null) : base(nameof(AutoencoderKL))
    {
        Config = config;
        encoder = new VaeEncoder(config, device);
        quant_conv = new GuardedConv2d(2 * config.LatentChannels, 2 * config.LatentChannels, 1, device: device);
        post_quant_conv = new GuardedConv2d(config.LatentChannels, config.LatentChannels, 1, device: device);
        decoder = new VaeDecoder(config, device);
        RegisterComponents();
    }

    /// <summary>Builds the VAE that <paramref name="stateDict"/> (diffusers keys) describes and loads it strictly.</summary>
    public static AutoencoderKL FromStateDict(IReadOnlyDictionary<string, Tensor> stateDict, int normNumGroups = 32, double normEps = 1e-6,
        ScalarType? dtype = null, Device? device = null, string source = "VAE")
    {
        var config = VaeConfig.Infer(stateDict, normNumGroups, normEps, source);
        var vae = new AutoencoderKL(config);
        var sd = stateDict.ToDictionary(kv => kv.Key, kv => kv.Value);
        var (missing, unexpected) = vae.load_state_dict(sd, strict: false);
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            vae.Dispose();
            throw new UserError($"{source}: the VAE weights do not match an AutoencoderKL of their own shape " +
                                $"(missing: {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? "…" : "")}; " +
                                $"unexpected: {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? "…" : "")}).");
        }
        if (dtype is { } d) vae.to(d);
        if (device is not null) vae.to(device);
        vae.eval();
        foreach (var p in vae.parameters()) p.requires_grad = false;
        return vae;
    }

    /// <summary>Image [B, C, H, W] in [-1, 1] → posterior over latents.</summary>
    public DiagonalGaussian Encode(Tensor image)
    {
        Tensor moments;
        using (NewDisposeScope()) moments = quant_conv.forward(encoder.forward(image)).MoveToOuterDisposeScope();
        // The posterior's tensors belong to the caller's scope, like any forward result.
        using (moments) return new DiagonalGaussian(moments);
    }

    /// <summary>Raw (unscaled) latents → image in about [-1, 1]. Divide scaled latents by <see cref="ScalingFactor"/> first.</summary>
    public Tensor Decode(Tensor latents)
    {
        using var scope = NewDisposeScope();
        return decoder.forward(post_quant_conv.forward(latents)).MoveToOuterDisposeScope();
    }

    /// <summary>Encode then decode the posterior mean (a reconstruction check).</summary>
    public override Tensor forward(Tensor image)
    {
        using var posterior = Encode(image);
        return Decode(posterior.Mean);
    }

    public long ParameterCount() => parameters().Sum(p => p.numel());
}
