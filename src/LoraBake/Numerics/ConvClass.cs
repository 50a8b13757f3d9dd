namespace LoraBake.Numerics;

/// <summary>How a channel count sits against oneDNN's 16-wide channel blocks, where its faults cluster.</summary>
public enum ChannelAlignment
{
    /// <summary>Fewer than 16 channels (VAE pixels, latents, small adapter ranks).</summary>
    Narrow,
    /// <summary>A multiple of 16 but not of 32 (16, 48, 80 …).</summary>
    Half,
    /// <summary>A multiple of 32 (every SD1.5 width).</summary>
    Full,
    /// <summary>Above 16 and not a multiple of 16 (20, 24, 40 …): padded blocks.</summary>
    Ragged,
}

/// <summary>
/// The shape class of one convolution as the self-test groups them: kernel 1×1 or larger, stride,
/// batch 1 or more, and the alignment of input and output channels. oneDNN picks its kernels (and its
/// faults, measured in docs/cpu-numerics.md) along these lines, so the guard decides per class.
/// </summary>
public readonly record struct ConvClass(bool PointWise, long Stride, bool Batched, ChannelAlignment In, ChannelAlignment Out)
{
    public static ChannelAlignment Align(long channels) =>
        channels < 16 ? ChannelAlignment.Narrow
        : channels % 32 == 0 ? ChannelAlignment.Full
        : channels % 16 == 0 ? ChannelAlignment.Half
        : ChannelAlignment.Ragged;

    public override string ToString() =>
        $"{(PointWise ? "1x1" : "kxk")} s{Stride} {(Batched ? "batch>1" : "batch 1")} {In}->{Out}".ToLowerInvariant();
}
