using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' Transformer2DModel for continuous SD1 inputs: GroupNorm (eps 1e-6) → 1×1 conv proj_in →
/// flatten to tokens → BasicTransformerBlocks → back to [B, C, H, W] → 1×1 conv proj_out → + input.
/// LoRA targets every Linear and Conv2d below this class (kohya UNET_TARGET_REPLACE_MODULE).
/// </summary>
public sealed class Transformer2DModel : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly GuardedConv2d proj_in;
    private readonly ModuleList<BasicTransformerBlock> transformer_blocks;
    private readonly GuardedConv2d proj_out;

    public Transformer2DModel(int heads, int dimHead, int inChannels, int depth, int crossAttentionDim, int normGroups,
        Device? device = null, ScalarType? dtype = null) : base(nameof(Transformer2DModel))
    {
        int inner = heads * dimHead;
        norm = GroupNorms.Create(normGroups, inChannels, 1e-6, device, dtype);
        proj_in = new GuardedConv2d(inChannels, inner, 1, stride: 1, padding: 0L, device: device, dtype: dtype);
        transformer_blocks = nn.ModuleList(Enumerable.Range(0, depth)
            .Select(_ => new BasicTransformerBlock(inner, heads, dimHead, crossAttentionDim, device, dtype)).ToArray());
        proj_out = new GuardedConv2d(inner, inChannels, 1, stride: 1, padding: 0L, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>Recompute this block in backward instead of keeping its activations (<see cref="GradientCheckpoint"/>).</summary>
    public bool GradientCheckpointing { get; set; }

    public override Tensor forward(Tensor hidden, Tensor context) => BlockProfiler.Run(this, hidden, x => GradientCheckpointing
        ? GradientCheckpoint.Run(a => Compute(a[0], a[1]), x, context)
        : Compute(x, context));

    private Tensor Compute(Tensor hidden, Tensor context)
    {
        using var scope = NewDisposeScope();
        long b = hidden.shape[0], height = hidden.shape[2], width = hidden.shape[3];
        var h = proj_in.call(norm.Routed(hidden));
        long inner = h.shape[1];
        h = h.permute(0, 2, 3, 1).reshape(b, height * width, inner);
        foreach (var block in transformer_blocks) h = block.call(h, context);
        h = h.reshape(b, height, width, inner).permute(0, 3, 1, 2).contiguous();
        return (proj_out.call(h) + hidden).MoveToOuterDisposeScope();
    }
}
