using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// The meta-device formulations are the ops' definitions: on CPU values they equal LibTorch's kernels (float64, so
/// only summation order differs), so a model on meta runs the same graph of shapes as on a real device.
/// </summary>
public class MetaKernelsTests
{
    static void Close(Tensor expected, Tensor actual, double tolerance = 1e-10)
    {
        Assert.Equal(expected.shape, actual.shape);
        double error = (expected - actual).abs().max().item<double>();
        Assert.True(error <= tolerance, $"max |difference| {error}");
    }

    [Theory]
    [InlineData(3, 1, 1, 1)]
    [InlineData(3, 2, 1, 1)]
    [InlineData(1, 1, 0, 1)]
    [InlineData(3, 1, 2, 2)]
    [InlineData(4, 2, 1, 1)]
    public void Conv2d_is_the_convolution(int kernel, int stride, int padding, int dilation)
    {
        using var g = new Generator(1);
        var x = randn([2, 3, 9, 8], ScalarType.Float64, generator: g);
        var w = randn([5, 3, kernel, kernel], ScalarType.Float64, generator: g);
        var b = randn([5], ScalarType.Float64, generator: g);
        long[] s = [stride, stride], p = [padding, padding], d = [dilation, dilation];
        Close(nn.functional.conv2d(x, w, b, s, p, d), MetaKernels.Conv2d(x, w, b, s, p, d, 1));
        Close(nn.functional.conv2d(x, w, null, s, p, d), MetaKernels.Conv2d(x, w, null, s, p, d, 1));
    }

    [Fact]
    public void Group_norm_and_layer_norm_are_the_norms()
    {
        using var g = new Generator(2);
        var x = randn([2, 8, 5, 3], ScalarType.Float64, generator: g) * 3 + 1;
        var w = randn([8], ScalarType.Float64, generator: g);
        var b = randn([8], ScalarType.Float64, generator: g);
        Close(nn.functional.group_norm(x, 4, w, b, 1e-5), MetaKernels.GroupNorm(x, 4, w, b, 1e-5));

        var h = randn([2, 7, 16], ScalarType.Float64, generator: g) * 2 - 1;
        var lw = randn([16], ScalarType.Float64, generator: g);
        var lb = randn([16], ScalarType.Float64, generator: g);
        Close(nn.functional.layer_norm(h, [16], lw, lb, 1e-5), MetaKernels.LayerNorm(h, 1, lw, lb, 1e-5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attention_is_scaled_dot_product_attention(bool causal)
    {
        using var g = new Generator(3);
        var q = randn([2, 4, 6, 8], ScalarType.Float64, generator: g);
        var k = randn([2, 4, 6, 8], ScalarType.Float64, generator: g);
        var v = randn([2, 4, 6, 8], ScalarType.Float64, generator: g);
        Close(nn.functional.scaled_dot_product_attention(q, k, v, is_casual: causal), MetaKernels.Attention(q, k, v, causal));
    }

    [Fact]
    public void Index_select_squared_error_and_abs_are_the_ops()
    {
        using var g = new Generator(4);
        var table = randn([10, 3], ScalarType.Float64, generator: g);
        var index = tensor(new long[] { 3, 0, 9, 3 });
        Close(table.index_select(0, index), MetaKernels.IndexSelect0(table, index), 0);
        var a = randn([2, 5], ScalarType.Float64, generator: g);
        var b = randn([2, 5], ScalarType.Float64, generator: g);
        Close(nn.functional.mse_loss(a, b, nn.Reduction.None), MetaKernels.SquaredError(a, b));
        Close(a.abs(), MetaKernels.Abs(a), 0);
    }

    [Fact]
    public void Meta_tensors_take_the_routes_and_others_do_not()
    {
        Assert.True(MetaKernels.IsMeta(empty([1], device: new TorchSharp.torch.Device(TorchSharp.DeviceType.META))));
        Assert.False(MetaKernels.IsMeta(empty([1])));
    }
}
