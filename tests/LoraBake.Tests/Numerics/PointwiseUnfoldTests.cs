using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>The unfold route's 1×1 shortcut: a view instead of im2col must change no bit, forward or backward.</summary>
public class PointwiseUnfoldTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void A_pointwise_convolution_equals_its_im2col_form_bit_for_bit(ScalarType dtype)
    {
        var g = new Generator(20261202);
        var x = randn([2, 40, 12, 10], generator: g).to(dtype);
        var w = (randn([24, 40, 1, 1], generator: g) * 0.1).to(dtype);
        var b = randn([24], generator: g).to(dtype);
        long[] one = [1, 1], zero = [0, 0];

        var xa = x.detach().requires_grad_(true);
        var ya = GuardedConv.Unfolded(xa, w, b, one, zero, one);
        ya.to(ScalarType.Float32).square().sum().backward();

        // The general path, written out: im2col, product, bias, and col2im in backward.
        var xb = x.detach().requires_grad_(true);
        var columns = nn.functional.unfold(xb, (1, 1), (1, 1), (0, 0), (1, 1));
        var yb = (w.reshape(24, -1).matmul(columns) + b.reshape(1, 24, 1)).reshape(2, 24, 12, 10);
        yb.to(ScalarType.Float32).square().sum().backward();

        Assert.True(ya.eq(yb).all().item<bool>(), "forward differs");
        Assert.True(xa.grad!.eq(xb.grad!).all().item<bool>(), "input gradient differs");
    }
}
