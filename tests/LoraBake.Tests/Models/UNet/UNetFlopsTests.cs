using LoraBake.Models.UNet;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.UNet;

public class UNetFlopsTests
{
    [Fact]
    public void One_level_attention_free_unet_matches_a_hand_count()
    {
        // in 4 → 8 channels, time embedding 32, one resnet down, 4×6 latent (24 positions), no attention.
        var config = new UNetConfig(InChannels: 4, OutChannels: 4, BlockOutChannels: [8], LayersPerBlock: 1,
            CrossAttention: [false], MidBlockCrossAttention: false, CrossAttentionDim: 16, NumHeads: 2, NormNumGroups: 4);
        long timeEmbedding = 8 * 32 + 32 * 32;                      // linear_1, linear_2
        long convIn = 8 * 4 * 9 * 24;
        long resnet8To8 = 8 * 8 * 9 * 24 + 32 * 8 + 8 * 8 * 9 * 24; // conv1, time_emb_proj, conv2
        long down = resnet8To8;
        long mid = 2 * resnet8To8;
        // Up: 2 resnets, each concatenating an 8-channel skip (the down resnet's output, then conv_in's): 16 → 8,
        // with a 1×1 conv_shortcut 16 → 8.
        long resnet16To8 = 16 * 8 * 9 * 24 + 32 * 8 + 8 * 8 * 9 * 24 + 16 * 8 * 24;
        long up = 2 * resnet16To8;
        long convOut = 4 * 8 * 9 * 24;
        Assert.Equal(timeEmbedding + convIn + down + mid + up + convOut, UNetFlops.MultiplyAdds(config, 4, 6, 77));
    }

    [Fact]
    public void Transformer_block_matches_a_hand_count()
    {
        // 8 channels, 2×3 = 6 positions, 5 tokens of width 16, depth 1.
        long projections = 2 * (8 * 8 * 6);                             // proj_in, proj_out (1×1 convs)
        long selfAttention = 4 * (8 * 8 * 6) + 2 * (6 * 6 * 8);          // q, k, v, out; QKᵀ and AV
        long crossAttention = 2 * (8 * 8 * 6) + 2 * (16 * 8 * 5) + 2 * (6 * 5 * 8);
        long feedForward = 8 * 64 * 6 + 32 * 8 * 6;                      // GEGLU proj to 2·32, then 32 → 8
        Assert.Equal(projections + selfAttention + crossAttention + feedForward,
            UNetFlops.Transformer2DModel(channels: 8, contextDim: 16, depth: 1, h: 2, w: 3, tokens: 5));
    }

    [Fact]
    public void Count_equals_what_the_real_layers_compute_on_a_non_square_three_level_model()
    {
        // Hooks on every Conv2d, Linear and Attention of a built model measure the work from the actual tensor
        // shapes of one forward (batch 1), independently of how MultiplyAdds walks the architecture.
        var config = new UNetConfig(InChannels: 4, OutChannels: 3, BlockOutChannels: [16, 24, 40], LayersPerBlock: 2,
            CrossAttention: [true, false, true], MidBlockCrossAttention: true, CrossAttentionDim: 12, NumHeads: 4,
            NormNumGroups: 4);
        using var model = new UNet2DConditionModel(config);
        model.eval();
        long measured = 0;
        foreach (var module in model.modules())
        {
            switch (module)
            {
                case LoraBake.Models.GuardedConv2d conv:
                    conv.register_forward_hook((m, input, output) =>
                    {
                        var w = conv.weight.shape;             // [out, in, kh, kw]
                        measured += output.numel() * w[1] * w[2] * w[3];
                        return null;
                    });
                    break;
                case LoraBake.Models.GuardedLinear linear:
                    linear.register_forward_hook((m, input, output) =>
                    {
                        measured += output.numel() * linear.weight.shape[1];
                        return null;
                    });
                    break;
                case Attention attention:
                    attention.register_forward_hook((m, hidden, context, output) =>
                    {
                        long nq = hidden.shape[1], nk = (context ?? hidden).shape[1], inner = output.shape[2];
                        measured += 2 * nq * nk * inner;     // QKᵀ and AV
                        return null;
                    });
                    break;
            }
        }
        using var noGrad = no_grad();
        using var sample = randn(1, 4, 6, 10);
        using var context = randn(1, 7, 12);
        using var t = tensor(new long[] { 500 });
        using var pred = model.forward(sample, t, context);
        Assert.Equal(measured, UNetFlops.MultiplyAdds(config, 6, 10, 7));
    }
}
