using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// Im2Col must lay out exactly the columns LibTorch's unfold gives, for every kernel, stride, padding and dilation a
/// convolution can have, and its gradient must be unfold's (col2im) within the rounding of a different summation order.
/// </summary>
public class Im2ColTests
{
    [Theory]
    [InlineData(3, 1, 1, 1)]   // SD's 3×3 convolutions
    [InlineData(3, 2, 1, 1)]   // its downsamplers
    [InlineData(3, 2, 0, 1)]   // a downsampler without padding (odd sides lose a row)
    [InlineData(1, 1, 0, 1)]
    [InlineData(3, 1, 2, 2)]   // dilated
    [InlineData(5, 1, 2, 1)]
    [InlineData(4, 2, 1, 1)]   // an even kernel
    public void The_columns_are_unfolds_bit_for_bit_and_the_gradient_is_col2ims(int kernel, int stride, int padding, int dilation)
    {
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var g = new Generator((ulong)(20261202 + kernel * 100 + stride * 10 + padding));
            var x = randn([2, 5, 13, 11], generator: g).to(dtype);
            long[] st = [stride, stride], pd = [padding, padding], dl = [dilation, dilation];

            var xa = x.detach().requires_grad_(true);
            var expected = nn.functional.unfold(xa, (kernel, kernel), (dilation, dilation), (padding, padding), (stride, stride));
            var xb = x.detach().requires_grad_(true);
            var actual = Im2Col.Columns(xb, kernel, kernel, st, pd, dl);

            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.eq(actual).all().item<bool>(), $"{dtype}: the columns differ from unfold's");

            var gradColumns = randn(expected.shape, generator: g).to(dtype);
            expected.backward([gradColumns]);
            actual.backward([gradColumns]);
            double err = (xa.grad! - xb.grad!).abs().max().to(ScalarType.Float32).item<float>();
            double size = xa.grad!.abs().max().to(ScalarType.Float32).item<float>();
            // Each input position sums at most k² terms, in another order than col2im: each of those additions
            // rounds by at most one unit in the last place of a value no larger than the largest gradient.
            double unit = dtype == ScalarType.Float32 ? Math.Pow(2, -23) : Math.Pow(2, -8);
            double tolerance = kernel * kernel * unit;
            Assert.True(err <= tolerance * size, $"{dtype}: input gradient off by {err} (gradient up to {size})");
        }
    }
}
