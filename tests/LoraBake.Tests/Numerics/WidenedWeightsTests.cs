using LoraBake.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// Weights held in bf16, math in fp32: each product must give exactly what fp32 math on the widened weights gives,
/// forward and input gradient, while the autograd graph keeps the narrow weight (the custom functions) rather than a
/// widened copy.
/// </summary>
public class WidenedWeightsTests
{
    static readonly Generator Seeded = new(20261202);

    static (Tensor Y, Tensor Grad) ForwardBackward(Func<Tensor, Tensor> op, Tensor x, Tensor gradOutput)
    {
        var input = x.detach().requires_grad_(true);
        var y = op(input);
        y.backward([gradOutput]);
        return (y.detach(), input.grad!);
    }

    static void Same(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(expected.equal(actual).all().item<bool>(), $"{what}: largest difference {(expected - actual).abs().max().item<float>()}");
    }

    [Fact]
    public void A_linear_layer_with_bf16_weights_computes_as_fp32_on_the_widened_weights()
    {
        var x = randn([3, 5, 24], generator: Seeded);
        var w = randn([16, 24], generator: Seeded).to(ScalarType.BFloat16);
        var b = randn([16], generator: Seeded).to(ScalarType.BFloat16);
        var g = randn([3, 5, 16], generator: Seeded);
        var widened = ForwardBackward(input => WidenedWeights.Linear(input, w, b), x, g);
        var reference = ForwardBackward(input => nn.functional.linear(input, w.to(ScalarType.Float32), b.to(ScalarType.Float32)), x, g);
        Same(reference.Y, widened.Y, "output");
        Same(reference.Grad, widened.Grad, "input gradient");
        // Without a bias, and without gradients, the same products.
        Same(nn.functional.linear(x, w.to(ScalarType.Float32)), WidenedWeights.Linear(x, w, null), "output without bias");
    }

    [Fact]
    public void The_unfolded_convolution_with_bf16_weights_computes_as_fp32_on_the_widened_weights()
    {
        var x = randn([2, 6, 9, 7], generator: Seeded);
        var w = randn([5, 6, 3, 3], generator: Seeded).to(ScalarType.BFloat16);
        var b = randn([5], generator: Seeded).to(ScalarType.BFloat16);
        long[] stride = [2, 1], padding = [1, 1], dilation = [1, 1];
        var g = randn([2, 5, 5, 7], generator: Seeded);
        var widened = ForwardBackward(input => GuardedConv.Conv2d(input, w, b, stride, padding, dilation), x, g);
        var reference = ForwardBackward(input => GuardedConv.Unfolded(input, w.to(ScalarType.Float32), b.to(ScalarType.Float32), stride, padding, dilation), x, g);
        Same(reference.Y, widened.Y, "output");
        Same(reference.Grad, widened.Grad, "input gradient");
        // Without a gradient the layer widens its weights for the call and takes the route any fp32 convolution takes.
        using (no_grad())
            Same(GuardedConv.Conv2d(x, w.to(ScalarType.Float32), b.to(ScalarType.Float32), stride, padding, dilation),
                GuardedConv.Conv2d(x, w, b, stride, padding, dilation), "output without gradients");
    }

    [Fact]
    public void A_weight_that_trains_gets_its_gradient_in_its_own_dtype()
    {
        var x = randn([4, 8], generator: Seeded);
        var w = randn([3, 8], generator: Seeded).to(ScalarType.BFloat16).requires_grad_(true);
        var y = WidenedWeights.Linear(x, w, null);
        Assert.Equal(ScalarType.Float32, y.dtype);
        y.sum().backward();
        Assert.NotNull(w.grad);
        Assert.Equal(ScalarType.BFloat16, w.grad!.dtype);
        FloatAssert.Close(x.sum(0L).expand(3, 8), w.grad.to(ScalarType.Float32), rtol: 1e-2, atol: 1e-2, "weight gradient");
    }

    [Fact]
    public void The_graph_keeps_the_narrow_weight_not_a_widened_copy()
    {
        // The held weight's bytes are overwritten after the forward (raw bytes: no version bump for autograd to trip
        // on). The widened product reads the weight again in backward, so its input gradient follows the new bytes;
        // plain autograd through to() saved an fp32 copy (the memory the custom functions exist to save), so its
        // gradient follows the old ones.
        static Tensor InputGradient(Func<Tensor, Tensor, Tensor> product)
        {
            var x = randn([4, 64], generator: new Generator(7)).requires_grad_(true);
            var w = randn([32, 64], generator: new Generator(8)).to(ScalarType.BFloat16);
            var y = product(x, w);
            w.bytes = (w * 2).bytes;
            y.backward([ones_like(y)]);
            return x.grad!;
        }
        var held = randn([32, 64], generator: new Generator(8)).to(ScalarType.BFloat16).to(ScalarType.Float32);
        var g = ones(4, 32);
        Same(g.matmul(held * 2), InputGradient((x, w) => WidenedWeights.Linear(x, w, null)), "widened linear");
        Same(g.matmul(held * 2), InputGradient((x, w) => WidenedWeights.MatMul(w, x.t().unsqueeze(0)).squeeze(0).t()), "widened product");
        Same(g.matmul(held), InputGradient((x, w) => nn.functional.linear(x, w.to(ScalarType.Float32))), "plain autograd");
    }
}
