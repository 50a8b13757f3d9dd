using LoraBake.Models.UNet;
using LoraBake.Sampling;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// An SD1 UNet whose widths are not multiples of 16 (24/40, so its up path concatenates to 64 and 80 and its
/// skips are ragged) renders with classifier-free guidance, which always runs the UNet at batch 2: on CPUs whose
/// oneDNN convolutions are wrong for such shapes at batch ≥ 2 the batched render drifted ~20/255 away. It must
/// equal the same render done one sample at a time.
/// </summary>
public class OddWidthRenderTests
{
    static UNet2DConditionModel OddWidthUnet()
    {
        manual_seed(424242);
        var unet = new UNet2DConditionModel(new UNetConfig(
            InChannels: 4, OutChannels: 4, BlockOutChannels: [24, 40], LayersPerBlock: 1,
            CrossAttention: [false, true], MidBlockCrossAttention: true, CrossAttentionDim: 32, NumHeads: 2, NormNumGroups: 8));
        unet.eval();
        return unet;
    }

    /// <summary>The same UNet asked for each sample of a batch separately.</summary>
    sealed class OneAtATime(UNet2DConditionModel unet) : INoisePredictor
    {
        public Tensor PredictNoise(Tensor latents, Tensor timestep, Tensor context)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var parts = new List<Tensor>();
            for (long i = 0; i < latents.shape[0]; i++)
            {
                var t = timestep.dim() == 0 ? timestep : timestep[i].unsqueeze(0);
                parts.Add(unet.call(latents[i].unsqueeze(0), t, context[i].unsqueeze(0)));
            }
            return cat(parts, 0).MoveToOuterDisposeScope();
        }
    }

    [Fact]
    public void A_cfg_render_at_batch_2_equals_the_render_one_sample_at_a_time()
    {
        using var unet = OddWidthUnet();
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var cond = randn(new long[] { 1, 77, 32 }, generator: g);
        var uncond = randn(new long[] { 1, 77, 32 }, generator: g);
        var settings = new TextToImageSettings(64, 48, Steps: 6, CfgScale: 7, Seed: 31);

        var batched = TextToImage.Generate(new UNetNoisePredictor(unet), SamplerRegistry.Create("euler"), cond, uncond, settings);
        var single = TextToImage.Generate(new OneAtATime(unet), SamplerRegistry.Create("euler"), cond, uncond, settings);

        // Same sums in another order: float32 rounding only (~1e-6 per op over 6 steps at CFG 7).
        double scale = single.abs().max().item<float>();
        FloatAssert.Close(single, batched, rtol: 1e-4, atol: 1e-4 * scale, "batch-2 CFG render vs one sample at a time");
    }
}
