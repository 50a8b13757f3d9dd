using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>A down block of the UNet: returns its output and the skip tensors it hands to the up path.</summary>
public abstract class UNetDownBlock : nn.Module
{
    protected UNetDownBlock(string name) : base(name) { }

    /// <returns>The block's output and, in order, one skip per resnet plus one after the downsampler.</returns>
    public abstract (Tensor Hidden, Tensor[] Skips) forward(Tensor hidden, Tensor temb, Tensor context);
}

/// <summary>An up block of the UNet: consumes skips from the end of the down path's list, one per resnet.</summary>
public abstract class UNetUpBlock : nn.Module
{
    protected UNetUpBlock(string name) : base(name) { }

    public abstract int ResnetCount { get; }

    /// <param name="skips">This block's skips in down-path order; the last is concatenated first.</param>
    /// <param name="upsampleSize">[H, W] for the upsampler (the next skip's size); null for the final block.</param>
    public abstract Tensor forward(Tensor hidden, IReadOnlyList<Tensor> skips, Tensor temb, Tensor context, long[]? upsampleSize);
}
