using LoraBake.Networks;
using static TorchSharp.torch;

namespace LoraBake.Tests.Networks;

/// <summary>
/// Mixed precision by hand: a frozen layer held in bf16 with an fp32 LoRA adapter. The adapter computes in bf16 (as
/// kohya's autocast runs it), its weights and their gradients stay fp32, and the result stays what fp32 math gives
/// within bf16's precision.
/// </summary>
public class MixedPrecisionAdapterTests
{
    [Fact]
    public void A_linear_adapter_on_a_bf16_layer_computes_in_bf16_and_trains_fp32_weights()
    {
        var g = new Generator(20261202);
        using var layer = new LoraBake.Models.GuardedLinear(64, 96, hasBias: false, dtype: ScalarType.BFloat16);
        layer.weight.requires_grad = false;
        using var lora = new LoRAModule("lora_unet_test", new TargetLayer(layer), isTextEncoder: false, dim: 8, alpha: 4);
        using (no_grad())
        {
            lora.Down.copy_(randn(lora.Down.shape, generator: g) * 0.1);
            lora.Up.copy_(randn(lora.Up.shape, generator: g) * 0.1);   // a new adapter's up is zero
        }
        var x = randn([2, 16, 64], generator: g).to(ScalarType.BFloat16);
        Tensor plain;
        using (no_grad()) plain = layer.call(x);

        lora.Attach();
        try
        {
            var y = layer.call(x);
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            double factor = lora.Multiplier * lora.Scale;
            Tensor expectedBf16, expectedFp32;
            using (no_grad())
            {
                // Exactly the bf16 formula (the widened fp32 path rounds differently) ...
                expectedBf16 = nn.functional.linear(nn.functional.linear(x, lora.Down.to(ScalarType.BFloat16)) * factor, lora.Up.to(ScalarType.BFloat16));
                // ... and close to fp32 math.
                expectedFp32 = nn.functional.linear(nn.functional.linear(x.to(ScalarType.Float32), lora.Down), lora.Up) * factor;
            }
            Assert.True(y.eq(plain + expectedBf16).all().item<bool>(), "the adapter did not compute in the layer's dtype");
            // The delta itself, before it is added to the layer's output: (y - plain) would also carry the rounding
            // of that sum, a half ulp of the layer's output rather than of the delta.
            double err = (expectedBf16.to(ScalarType.Float32) - expectedFp32).abs().max().item<float>();
            double size = expectedFp32.abs().max().item<float>();
            Assert.True(err <= 0.02 * size, $"bf16 delta off fp32 math by {err} (delta up to {size})");

            y.to(ScalarType.Float32).square().sum().backward();
            Assert.Equal(ScalarType.Float32, lora.Down.grad!.dtype);
            Assert.Equal(ScalarType.Float32, lora.Up.grad!.dtype);
            Assert.True(lora.Up.grad!.abs().sum().item<float>() > 0);
        }
        finally { lora.Detach(); }
    }
}
