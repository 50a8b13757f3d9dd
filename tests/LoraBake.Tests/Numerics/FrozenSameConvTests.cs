using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// The frozen "same" convolution's input gradient, computed as a convolution of the output gradient with the flipped
/// kernel, against autograd's gradient of the unfold formulation (col2im).
/// </summary>
public class FrozenSameConvTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 3, 1e-5)]
    [InlineData(ScalarType.Float32, 5, 1e-5)]
    [InlineData(ScalarType.BFloat16, 3, 2e-2)]
    public void The_input_gradient_equals_autograds_within_rounding(ScalarType dtype, int kernel, double tolerance)
    {
        var g = new Generator(20261202);
        var x = randn([2, 37, 13, 11], generator: g).to(dtype);
        var w = (randn([29, 37, kernel, kernel], generator: g) * 0.05).to(dtype);
        var b = randn([29], generator: g).to(dtype);
        long[] one = [1, 1], pad = [kernel / 2, kernel / 2];
        var upstream = randn([2, 29, 13, 11], generator: g).to(dtype);

        var xa = x.detach().requires_grad_(true);
        Assert.True(FrozenSameConv.Takes(xa, w, one, pad, one));
        var ya = FrozenSameConv.Apply(xa, w, b, pad);
        ya.backward([upstream]);

        var xb = x.detach().requires_grad_(true);
        var yb = GuardedConv.Unfolded(xb, w, b, one, pad, one);
        yb.backward([upstream]);

        Assert.True(ya.eq(yb).all().item<bool>(), "the forward is the unfold formulation's, bit for bit");
        var reference = xb.grad!.to(ScalarType.Float32);
        double err = (xa.grad!.to(ScalarType.Float32) - reference).abs().max().item<float>();
        double size = reference.abs().max().item<float>();
        Assert.True(err <= tolerance * size, $"input gradient off by {err} (gradient up to {size})");
    }

    [Fact]
    public void Trainable_kernels_strides_and_other_paddings_keep_autograds_gradient()
    {
        var x = randn([1, 4, 8, 8]).requires_grad_(true);
        long[] one = [1, 1], two = [2, 2], pad1 = [1, 1], pad0 = [0, 0];
        Assert.False(FrozenSameConv.Takes(x, randn([4, 4, 3, 3]).requires_grad_(true), one, pad1, one));   // LoCon's kernel trains
        Assert.False(FrozenSameConv.Takes(x, randn([4, 4, 3, 3]), two, pad1, one));                       // a downsampler
        Assert.False(FrozenSameConv.Takes(x, randn([4, 4, 3, 3]), one, pad0, one));                       // the size changes
        Assert.False(FrozenSameConv.Takes(x, randn([4, 4, 1, 1]), one, pad0, one));                       // 1×1: a plain product
        Assert.False(FrozenSameConv.Takes(x.detach(), randn([4, 4, 3, 3]), one, pad1, one));              // no gradient wanted
    }
}
