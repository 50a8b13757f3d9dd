using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' ResnetBlock2D (time_embedding_norm "default", pre-norm, SiLU):
/// x → norm1 → SiLU → conv1 → + time_emb_proj(SiLU(temb)) → norm2 → SiLU → conv2 → + shortcut(x).
/// conv_shortcut is a 1×1 conv, present only when the channel count changes.
/// </summary>
public sealed class ResnetBlock2D : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1;
    private readonly GuardedConv2d conv1;
    private readonly GuardedLinear time_emb_proj;
    private readonly GroupNorm norm2;
    private readonly Dropout dropout;
    private readonly GuardedConv2d conv2;
    private readonly GuardedConv2d? conv_shortcut;

    public int InChannels { get; }
    public int OutChannels { get; }

    /// <summary>Recompute this block in backward instead of keeping its activations (<see cref="GradientCheckpoint"/>).</summary>
    public bool GradientCheckpointing { get; set; }

    public ResnetBlock2D(int inChannels, int outChannels, int tembChannels, int groups, double eps,
        Device? device = null, ScalarType? dtype = null) : base(nameof(ResnetBlock2D))
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        norm1 = GroupNorms.Create(groups, inChannels, eps, device, dtype);
        conv1 = new GuardedConv2d(inChannels, outChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        time_emb_proj = new GuardedLinear(tembChannels, outChannels, hasBias: true, device: device, dtype: dtype);
        norm2 = GroupNorms.Create(groups, outChannels, eps, device, dtype);
        dropout = nn.Dropout(0.0);
        conv2 = new GuardedConv2d(outChannels, outChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        if (inChannels != outChannels)
            conv_shortcut = new GuardedConv2d(inChannels, outChannels, 1, stride: 1, padding: 0L, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input, Tensor temb) => BlockProfiler.Run(this, input, x => GradientCheckpointing
        ? GradientCheckpoint.Run(a => Compute(a[0], a[1]), x, temb)
        : Compute(x, temb));

    private Tensor Compute(Tensor input, Tensor temb)
    {
        using var scope = NewDisposeScope();
        var h = conv1.call(nn.functional.silu(norm1.Routed(input)));
        var t = time_emb_proj.call(nn.functional.silu(temb));
        h = h + t.unsqueeze(-1).unsqueeze(-1);
        h = conv2.call(dropout.call(nn.functional.silu(norm2.Routed(h))));
        var skip = conv_shortcut is null ? input : conv_shortcut.call(input);
        return (skip + h).MoveToOuterDisposeScope();
    }
}
