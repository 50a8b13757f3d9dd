using LoraBake.Models.Checkpoints;
using LoraBake.Models.Vae;
using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Vae;

public class AutoencoderKLTests
{
    static (AutoencoderKL Vae, Dictionary<string, Tensor> Goldens) TinyA()
    {
        using var ckpt = Sd1Checkpoint.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        var vae = AutoencoderKL.FromStateDict(ckpt.VaeStateDict, ckpt.VaeNormGroups, ckpt.VaeNormEps, source: ckpt.SourcePath);
        return (vae, SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "vae.safetensors")).Load());
    }

    static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<float>();
    }

    [Fact]
    public void Config_is_inferred_from_shapes()
    {
        using var ckpt = Sd1Checkpoint.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        var c = VaeConfig.Infer(ckpt.VaeStateDict, ckpt.VaeNormGroups);
        Assert.Equal(new VaeConfig(3, 3, 4, new[] { 8, 16, 16, 16 }, 2, 4, 1e-6), c);
        // SD's default of 32 groups cannot split 8 channels: a user error pointing at the sidecar.
        var e = Assert.Throws<UserError>(() => VaeConfig.Infer(ckpt.VaeStateDict));
        Assert.Contains("norm_num_groups", e.Message);
    }

    [Fact]
    public void Encode_matches_the_diffusers_posterior()
    {
        var (vae, g) = TinyA();
        using (vae)
        using (no_grad())
        using (var posterior = vae.Encode(g["image"]))
        {
            // Same float32 math on different code paths (SDPA, conv algorithms): ~1e-6 per op, well under 1e-5 here.
            Assert.True(MaxAbsDiff(posterior.Mean, g["posterior_mean"]) < 1e-5, $"mean {MaxAbsDiff(posterior.Mean, g["posterior_mean"])}");
            Assert.True(MaxAbsDiff(posterior.LogVar, g["posterior_logvar"]) < 1e-5, $"logvar {MaxAbsDiff(posterior.LogVar, g["posterior_logvar"])}");
            Assert.True(MaxAbsDiff(posterior.Std, g["posterior_std"]) < 1e-5, $"std {MaxAbsDiff(posterior.Std, g["posterior_std"])}");
        }
        foreach (var t in g.Values) t.Dispose();
    }

    [Fact]
    public void Decode_matches_the_diffusers_decoder()
    {
        var (vae, g) = TinyA();
        using (vae)
        using (no_grad())
        using (var decoded = vae.Decode(g["decode_latents"]))
        {
            Assert.Equal(g["decoded"].shape, decoded.shape);
            var diff = MaxAbsDiff(decoded, g["decoded"]);
            Assert.True(diff < 1e-5, $"decoded max abs diff {diff}");
        }
        foreach (var t in g.Values) t.Dispose();
    }

    [Fact]
    public void Sample_is_mean_plus_std_times_seeded_noise()
    {
        var (vae, g) = TinyA();
        using (vae)
        using (no_grad())
        using (var posterior = vae.Encode(g["image"]))
        {
            using var a = posterior.Sample(new Generator(7));
            using var b = posterior.Sample(new Generator(7));
            using var eps = randn(posterior.Mean.shape, generator: new Generator(7));
            using var expected = posterior.Mean + posterior.Std * eps;
            Assert.Equal(0.0, MaxAbsDiff(a, b));
            Assert.True(MaxAbsDiff(a, expected) < 1e-7);
            Assert.True(MaxAbsDiff(a, posterior.Mean) > 1e-3);
        }
        foreach (var t in g.Values) t.Dispose();
    }

    [Fact]
    public void Runs_in_bfloat16_close_to_the_float32_reference()
    {
        using var ckpt = Sd1Checkpoint.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        using var vae = AutoencoderKL.FromStateDict(ckpt.VaeStateDict, ckpt.VaeNormGroups, ckpt.VaeNormEps, dtype: ScalarType.BFloat16);
        var g = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "vae.safetensors")).Load();
        using (no_grad())
        using (var image = g["image"].to_type(ScalarType.BFloat16))
        using (var posterior = vae.Encode(image))
        using (var latents = g["decode_latents"].to_type(ScalarType.BFloat16))
        using (var decoded = vae.Decode(latents))
        {
            Assert.Equal(ScalarType.BFloat16, posterior.Mean.dtype);
            using var mean = posterior.Mean.to_type(ScalarType.Float32);
            using var dec = decoded.to_type(ScalarType.Float32);
            // bf16 keeps 8 mantissa bits (~0.4% per rounding, weights included) and errors add up over ~30 layers:
            // measured 1.6% (mean) and 4.2% (decoded) of the range here. Decode in fp32 when quality matters.
            double Rel(Tensor a, Tensor reference) { using var m = reference.abs().max(); return MaxAbsDiff(a, reference) / m.item<float>(); }
            Assert.True(Rel(mean, g["posterior_mean"]) < 0.05, $"mean rel {Rel(mean, g["posterior_mean"])}");
            Assert.True(Rel(dec, g["decoded"]) < 0.08, $"decoded rel {Rel(dec, g["decoded"])}");
            Assert.True(Rel(dec, g["decoded"]) > 0, "bf16 cannot be exact");
        }
        foreach (var t in g.Values) t.Dispose();
    }

    [Fact]
    public void Full_size_sd15_vae_on_the_meta_device_has_83653863_parameters()
    {
        using var vae = new AutoencoderKL(VaeConfig.Sd1, new Device(DeviceType.META));
        Assert.Equal(83_653_863L, vae.ParameterCount());
        var names = vae.state_dict().Keys.ToHashSet();
        Assert.Contains("encoder.down_blocks.3.resnets.1.conv2.weight", names);
        Assert.Contains("decoder.up_blocks.2.resnets.0.conv_shortcut.weight", names); // 512 → 256
        Assert.DoesNotContain("decoder.up_blocks.0.resnets.0.conv_shortcut.weight", names);
        Assert.Contains("decoder.up_blocks.3.resnets.2.conv2.weight", names);
        Assert.Contains("decoder.mid_block.attentions.0.to_out.0.weight", names);
        Assert.Contains("encoder.down_blocks.0.downsamplers.0.conv.weight", names);
        Assert.DoesNotContain("encoder.down_blocks.3.downsamplers.0.conv.weight", names);
        Assert.Equal(VaeConfig.ScalingFactor, AutoencoderKL.ScalingFactor);
    }

    [Fact]
    public void Weights_that_do_not_fit_are_a_user_error()
    {
        using var ckpt = Sd1Checkpoint.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        var sd = ckpt.VaeStateDict.Where(kv => kv.Key != "decoder.mid_block.attentions.0.to_q.bias").ToDictionary(kv => kv.Key, kv => kv.Value);
        var e = Assert.Throws<UserError>(() => AutoencoderKL.FromStateDict(sd, 4, source: "x.safetensors"));
        Assert.Contains("decoder.mid_block.attentions.0.to_q.bias", e.Message);
    }
}
