using LoraBake.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// The models' 2-D convolution layer: TorchSharp's <c>Conv2d</c> parameters (same names, same
/// initialisation, so checkpoints and the built-in model's bytes are unchanged) with a forward pass that
/// the numerics guard routes (<see cref="GuardedConv"/>). TorchSharp's Conv2d is sealed, hence a layer of our own.
/// </summary>
public sealed class GuardedConv2d : nn.Module<Tensor, Tensor>
{
    public Parameter weight;
    public Parameter? bias;
    public long[] stride { get; }
    public long[] padding { get; }
    public long[] dilation { get; }
    public long groups { get; }
    public long in_channels => weight.shape[1] * groups;
    public long out_channels => weight.shape[0];

    public GuardedConv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
        long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups, bias, device, dtype)
    {
    }

    public GuardedConv2d(long inChannels, long outChannels, (long, long) kernelSize, (long, long) stride, (long, long) padding, (long, long) dilation,
        long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null) : base("Conv2d")
    {
        // Built through TorchSharp's Conv2d so the random initialisation consumes the generator exactly as before; its
        // parameters are taken over, not copied (see GuardedLinear).
        var template = nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, dilation,
            groups: groups, bias: bias, device: device, dtype: dtype);
        weight = template.weight!;
        this.bias = bias ? template.bias! : null;
        this.stride = [stride.Item1, stride.Item2];
        this.padding = [padding.Item1, padding.Item2];
        this.dilation = [dilation.Item1, dilation.Item2];
        this.groups = groups;
        register_parameter("weight", weight);
        if (this.bias is not null) register_parameter("bias", this.bias);
    }

    public override Tensor forward(Tensor input) => UNet.BlockProfiler.Op(UNet.BlockProfiler.Convolution, input,
        x => GuardedConv.Conv2d(x, weight, bias, stride, padding, dilation, groups),
        (_, y) => 2.0 * weight.numel() * y.shape[0] * y.shape[2] * y.shape[3]);
}
