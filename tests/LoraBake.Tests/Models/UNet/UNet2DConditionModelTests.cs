using LoraBake.Models.UNet;
using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.UNet;

public class UNet2DConditionModelTests
{
    [Fact]
    public void Tiny_a_noise_prediction_matches_diffusers()
    {
        using var model = TinyAUNet.Load();
        var golden = TinyAUNet.LoadGolden();
        try
        {
            Assert.Equal(ScalarType.Int64, golden["timesteps"].dtype);
            using var noGrad = no_grad();
            using var pred = model.forward(golden["sample"], golden["timesteps"], golden["encoder_hidden_states"]);
            Assert.Equal(golden["noise_pred"].shape, pred.shape);
            // Same float32 math on a different code path (LibTorch 2.10 vs torch 1.13 kernels, SDPA vs explicit
            // softmax) differs by ~1e-6 per op; outputs are O(1), so 1e-5 absolute leaves room and still catches
            // any wrong wiring (which moves outputs by ~1e-1).
            double maxDiff = (pred - golden["noise_pred"]).abs().max().item<float>();
            Assert.True(maxDiff < 1e-5, $"max |diff| = {maxDiff:g3}");
        }
        finally
        {
            foreach (var t in golden.Values) t.Dispose();
        }
    }

    [Fact]
    public void Scalar_and_float_timesteps_give_the_same_prediction_as_int64_per_sample()
    {
        using var model = TinyAUNet.Load();
        var golden = TinyAUNet.LoadGolden();
        try
        {
            using var noGrad = no_grad();
            using var sample = golden["sample"][..1];
            using var context = golden["encoder_hidden_states"][..1];
            using var t = golden["timesteps"][..1];
            using var fromInt = model.forward(sample, t, context);
            using var scalar = tensor(golden["timesteps"][0].item<long>());
            using var fromScalar = model.forward(sample, scalar, context);
            using var asFloat = t.to(ScalarType.Float32);
            using var fromFloat = model.forward(sample, asFloat, context);
            Assert.True(fromInt.allclose(fromScalar, rtol: 0, atol: 1e-6));
            Assert.True(fromInt.allclose(fromFloat, rtol: 0, atol: 1e-6));
            using var goldenFirst = golden["noise_pred"][..1];
            Assert.True(fromInt.allclose(goldenFirst, rtol: 0, atol: 1e-5));
        }
        finally
        {
            foreach (var t in golden.Values) t.Dispose();
        }
    }

    [Fact]
    public void Bfloat16_weights_predict_close_to_float32()
    {
        using var fp32 = TinyAUNet.Load();
        using var bf16 = TinyAUNet.Load(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.Dtype);
        var golden = TinyAUNet.LoadGolden();
        try
        {
            using var noGrad = no_grad();
            using var reference = fp32.forward(golden["sample"], golden["timesteps"], golden["encoder_hidden_states"]);
            using var low = bf16.forward(golden["sample"], golden["timesteps"], golden["encoder_hidden_states"]);
            Assert.Equal(ScalarType.BFloat16, low.dtype);
            using var lowAsFloat = low.to(ScalarType.Float32);
            // bf16 keeps 8 mantissa bits (relative step 2^-8 ≈ 0.4%); ~25 layers of rounding give a few percent
            // of the output scale (measured on tiny_a: 1.2% relative RMS, max 0.013 at scale 0.94). A GroupNorm or softmax
            // computed badly in bf16 would give O(1) errors.
            double scale = reference.abs().max().item<float>();
            double maxDiff = (lowAsFloat - reference).abs().max().item<float>();
            double rmsRel = ((lowAsFloat - reference).square().mean().sqrt() / reference.square().mean().sqrt()).item<float>();
            Assert.True(maxDiff < 0.05 * scale, $"max |diff| {maxDiff:g3} vs output scale {scale:g3}");
            Assert.True(rmsRel < 0.03, $"relative RMS error {rmsRel:g3}");
        }
        finally
        {
            foreach (var t in golden.Values) t.Dispose();
        }
    }

    [Fact]
    public void Non_square_three_level_model_predicts_the_input_shape()
    {
        // Widths, heads and context differ from tiny_a and SD1.5; 6×10 latents give odd sizes (3×5, 2×3) deeper
        // down, so the upsamplers must resize to the skip sizes, not just double.
        var config = new UNetConfig(InChannels: 4, OutChannels: 3, BlockOutChannels: [16, 24, 40], LayersPerBlock: 1,
            CrossAttention: [false, true, true], MidBlockCrossAttention: true, CrossAttentionDim: 12, NumHeads: 4,
            NormNumGroups: 4);
        using var model = new UNet2DConditionModel(config);
        model.eval();
        using var noGrad = no_grad();
        using var sample = randn(2, 4, 6, 10);
        using var context = randn(2, 5, 12);
        using var t = tensor(new long[] { 10, 900 });
        using var pred = model.forward(sample, t, context);
        Assert.Equal(new long[] { 2, 3, 6, 10 }, pred.shape);
        Assert.False(pred.isnan().any().item<bool>());
    }

    [Fact]
    public void Loading_reports_missing_and_unexpected_keys_by_name()
    {
        var weights = TinyAUNet.LoadWeights();
        try
        {
            using var model = new UNet2DConditionModel(TinyAUNet.InferConfig(weights));
            const string dropped = "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_v.weight";
            var broken = new Dictionary<string, Tensor>(weights);
            broken.Remove(dropped);
            broken["down_blocks.0.attentions.1.extra.weight"] = weights["conv_in.bias"];
            var error = Assert.Throws<UserError>(() => model.LoadDiffusersStateDict(broken, "broken.safetensors"));
            Assert.Contains("broken.safetensors", error.Message);
            Assert.Contains("missing (1): " + dropped, error.Message);
            Assert.Contains("unexpected (1): down_blocks.0.attentions.1.extra.weight", error.Message);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }
}
