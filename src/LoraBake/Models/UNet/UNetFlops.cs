namespace LoraBake.Models.UNet;

/// <summary>
/// Multiply-adds of one UNet forward for a single sample, counted from the architecture: every conv
/// (Cout·Cin·k²·Hout·Wout), every linear (in·out per token) and the two attention matmuls (QKᵀ and AV, each
/// Nq·Nk·inner). Norms, activations, softmax and additions are left out: they are a small fraction of the total.
/// GFLOP/s = 2 · multiply-adds · batch / seconds.
/// </summary>
public static class UNetFlops
{
    public static long MultiplyAdds(UNetConfig config, int latentH, int latentW, int tokens)
    {
        var ch = config.BlockOutChannels;
        int levels = config.Levels, temb = config.TimeEmbedDim;
        long total = Linear(ch[0], temb, 1) + Linear(temb, temb, 1);      // time_embedding
        total += Conv2d(config.InChannels, ch[0], 3, latentH, latentW);     // conv_in

        // Down path: remember each skip's channels and size, as the up path consumes them.
        var skips = new Stack<(int C, int H, int W)>();
        skips.Push((ch[0], latentH, latentW));
        int h = latentH, w = latentW, c = ch[0];
        for (int i = 0; i < levels; i++)
        {
            for (int j = 0; j < config.LayersPerBlock; j++)
            {
                total += ResnetBlock2D(c, ch[i], temb, h, w);
                c = ch[i];
                if (config.CrossAttention[i]) total += Transformer2DModel(c, config.CrossAttentionDim, config.TransformerDepth, h, w, tokens);
                skips.Push((c, h, w));
            }
            if (i < levels - 1)
            {
                h = (h + 1) / 2;                 // 3×3, stride 2, padding 1
                w = (w + 1) / 2;
                total += Conv2d(c, c, 3, h, w);
                skips.Push((c, h, w));
            }
        }

        total += 2 * ResnetBlock2D(c, c, temb, h, w);
        if (config.MidBlockCrossAttention) total += Transformer2DModel(c, config.CrossAttentionDim, config.TransformerDepth, h, w, tokens);

        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i;
            for (int j = 0; j < config.LayersPerBlock + 1; j++)
            {
                var skip = skips.Pop();
                total += ResnetBlock2D(c + skip.C, ch[level], temb, h, w);
                c = ch[level];
                if (config.CrossAttention[level]) total += Transformer2DModel(c, config.CrossAttentionDim, config.TransformerDepth, h, w, tokens);
            }
            if (i < levels - 1)
            {
                (h, w) = (skips.Peek().H, skips.Peek().W);
                total += Conv2d(c, c, 3, h, w);
            }
        }

        total += Conv2d(ch[0], config.OutChannels, 3, latentH, latentW);   // conv_out
        return total;
    }

    public static long Conv2d(long inChannels, long outChannels, long kernel, long outH, long outW) =>
        outChannels * inChannels * kernel * kernel * outH * outW;

    public static long Linear(long inFeatures, long outFeatures, long tokens) => inFeatures * outFeatures * tokens;

    /// <summary>conv1, time_emb_proj, conv2 and (when channels change) the 1×1 conv_shortcut.</summary>
    public static long ResnetBlock2D(int inChannels, int outChannels, int tembChannels, int h, int w) =>
        Conv2d(inChannels, outChannels, 3, h, w) + Linear(tembChannels, outChannels, 1) + Conv2d(outChannels, outChannels, 3, h, w)
        + (inChannels != outChannels ? Conv2d(inChannels, outChannels, 1, h, w) : 0);

    /// <summary>proj_in, per BasicTransformerBlock self-attention, cross-attention and GEGLU feed-forward, proj_out.</summary>
    public static long Transformer2DModel(int channels, int contextDim, int depth, int h, int w, int tokens)
    {
        long n = (long)h * w;
        long selfAttention = 4 * Linear(channels, channels, n) + 2 * n * n * channels;
        long crossAttention = 2 * Linear(channels, channels, n) + 2 * Linear(contextDim, channels, tokens) + 2 * n * tokens * channels;
        long feedForward = Linear(channels, 8L * channels, n) + Linear(4L * channels, channels, n);
        return 2 * Conv2d(channels, channels, 1, h, w) + depth * (selfAttention + crossAttention + feedForward);
    }
}
