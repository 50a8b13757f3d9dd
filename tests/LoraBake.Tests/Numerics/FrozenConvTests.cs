using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// FrozenConv: the forward is the unfolded product bit for bit, and the input gradient, taken as one convolution of
/// the output gradient, is rounded once: within half a bf16 unit of the float64 gradient of the same (bf16) numbers,
/// where autograd's route through the columns rounds after each of the kernel's taps.
/// </summary>
public class FrozenConvTests
{
    [Theory]
    [InlineData(3, 3, 1, 1, 1)]   // SD's 3×3 convolutions
    [InlineData(3, 3, 2, 2, 2)]   // dilated
    [InlineData(5, 5, 2, 2, 1)]
    [InlineData(3, 1, 1, 0, 1)]   // a non-square kernel
    [InlineData(3, 3, 0, 0, 1)]   // "valid": the gradient pads by two
    public void Forward_is_the_unfolded_product_and_the_input_gradient_is_rounded_once(int kh, int kw, int ph, int pw, int dilation)
    {
        var g = new Generator((ulong)(20261202 + kh * 1000 + kw * 100 + ph * 10 + dilation));
        var x = randn([2, 24, 13, 11], generator: g).to(ScalarType.BFloat16);
        var w = (randn([16, 24, kh, kw], generator: g) * 0.2).to(ScalarType.BFloat16);
        var b = randn([16], generator: g).to(ScalarType.BFloat16);
        long[] stride = [1, 1], padding = [ph, pw], dil = [dilation, dilation];

        var xa = x.detach().requires_grad_(true);
        Assert.True(FrozenConv.Applies(xa, w, b, stride, padding, dil));
        var y = GuardedConv.Unfolded(xa, w, b, stride, padding, dil);
        Tensor plain;
        using (no_grad()) plain = GuardedConv.Unfolded(x, w, b, stride, padding, dil);
        Assert.Equal(plain.shape, y.shape);
        Assert.True(plain.eq(y).all().item<bool>(), "the forward differs from the unfolded product");

        var gradOutput = randn(y.shape, generator: g).to(ScalarType.BFloat16);
        y.backward([gradOutput]);

        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        var y64 = nn.functional.conv2d(x64, w.to(ScalarType.Float64), b.to(ScalarType.Float64), stride, padding, dil);
        y64.backward([gradOutput.to(ScalarType.Float64)]);
        var reference = x64.grad!;
        Assert.Equal(reference.shape, xa.grad!.shape);

        // One rounding to bf16 (half a unit: 2^-8 of the value) after an fp32 accumulation (2^-24 per term, at most
        // 24·k² terms here) per element.
        var err = (xa.grad!.to(ScalarType.Float64) - reference).abs();
        var bound = reference.abs() * Math.Pow(2, -8) + reference.abs().max() * 1e-5;
        Assert.True(err.le(bound).all().item<bool>(),
            $"input gradient off by up to {err.max().item<double>():G4} (gradient up to {reference.abs().max().item<double>():G4}); one bf16 rounding allows {Math.Pow(2, -8):G4} of each value");
    }

    [Fact]
    public void Autograds_route_through_the_columns_rounds_more_than_once()
    {
        // What the bound above rules out: the columns' gradient folded back tap by tap, each add rounded to bf16.
        var g = new Generator(20261203);
        var x = randn([1, 64, 32, 32], generator: g).to(ScalarType.BFloat16);
        var w = (randn([64, 64, 3, 3], generator: g) * 0.1).to(ScalarType.BFloat16);
        long[] one = [1, 1];
        var xa = x.detach().requires_grad_(true);
        var y = w.reshape(64, -1).matmul(Im2Col.Columns(xa, 3, 3, one, one, one)).reshape(1, 64, 32, 32);
        var gradOutput = randn(y.shape, generator: g).to(ScalarType.BFloat16);
        y.backward([gradOutput]);
        var xb = x.detach().requires_grad_(true);
        GuardedConv.Unfolded(xb, w, null, one, one, one).backward([gradOutput]);

        var x64 = x.to(ScalarType.Float64).requires_grad_(true);
        nn.functional.conv2d(x64, w.to(ScalarType.Float64), null, one, one, one).backward([gradOutput.to(ScalarType.Float64)]);
        double Err(Tensor grad) => (grad.to(ScalarType.Float64) - x64.grad!).abs().max().item<double>();
        double autograds = Err(xa.grad!), frozen = Err(xb.grad!);
        Assert.True(frozen * 2 < autograds, $"FrozenConv's largest error {frozen:G4} is not well below autograd's {autograds:G4}");
    }

    [Fact]
    public void Only_frozen_half_precision_stride_one_kernels_wider_than_one_tap_on_large_images_take_it()
    {
        var x = randn([1, 4, 8, 8]).to(ScalarType.BFloat16).requires_grad_(true);
        var w = randn([4, 4, 3, 3]).to(ScalarType.BFloat16);
        long[] one = [1, 1], two = [2, 2], zero = [0, 0];
        Assert.True(FrozenConv.Applies(x, w, null, one, one, one));
        Assert.False(FrozenConv.Applies(x, w, null, two, one, one));                                      // strided
        Assert.False(FrozenConv.Applies(x, randn([4, 4, 1, 1]).to(ScalarType.BFloat16), null, one, zero, one));   // 1×1
        Assert.False(FrozenConv.Applies(x.detach().to(ScalarType.Float32).requires_grad_(true), w.to(ScalarType.Float32), null, one, one, one));   // fp32 math
        Assert.False(FrozenConv.Applies(x, w.detach().requires_grad_(true), null, one, one, one));         // the weight trains
        Assert.False(FrozenConv.Applies(x.detach(), w, null, one, one, one));                            // no input gradient
        Assert.False(FrozenConv.Applies(x, w, null, one, [3, 3], one));                                  // padding wider than the kernel reaches
        Assert.False(FrozenConv.Applies(x, randn([16, 4, 3, 3]).to(ScalarType.BFloat16), null, one, one, one));   // 64 pixels for 16 channels
        using (no_grad()) Assert.False(FrozenConv.Applies(x, w, null, one, one, one));
    }
}
