using LoraBake.Models;
using LoraBake.Networks;
using LoraBake.Numerics;
using LoraBake.Tests.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models;

/// <summary>
/// bf16 on a CPU whose bf16 math is wrong (the guard told so through LORABAKE_BF16=off): the model is held in bf16 and
/// computed in fp32. It must be exactly the bf16 model's weights run in fp32 math, and train like it.
/// </summary>
[Collection(RouteCollection.Name)]
public class FrozenPrecisionTests
{
    static Sd1Model Load(ScalarType dtype) =>
        Sd1Model.Load(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"), tokenizerDir: GoldensFolder.File("tokenizer"), frozenDtype: dtype);

    static T WithBf16Refused<T>(Func<T> body)
    {
        var before = Environment.GetEnvironmentVariable(NumericsGuard.Bf16EnvironmentVariable);
        Environment.SetEnvironmentVariable(NumericsGuard.Bf16EnvironmentVariable, "off");
        try
        {
            NumericsGuard.Use(null);
            Assert.False(NumericsGuard.Current.Bf16Usable);
            return body();
        }
        finally
        {
            Environment.SetEnvironmentVariable(NumericsGuard.Bf16EnvironmentVariable, before);
            NumericsGuard.Use(null);
        }
    }

    [Fact]
    public void Bf16_where_its_math_is_wrong_is_the_bf16_model_computed_in_fp32()
    {
        using var widened = WithBf16Refused(() => Load(ScalarType.BFloat16));
        Assert.True(widened.Precision.Widened);
        Assert.Equal("bf16 held, fp32 math", widened.Precision.Describe);
        Assert.Equal(ScalarType.Float32, widened.Unet.Dtype);
        foreach (var model in new nn.Module[] { widened.Unet, widened.TextEncoder })
            foreach (var (name, module) in model.named_modules())
                foreach (var (pname, p) in module.named_parameters(recurse: false))
                    Assert.True(p.dtype == (module is GuardedLinear or GuardedConv2d ? ScalarType.BFloat16 : ScalarType.Float32), $"{name}.{pname} is {p.dtype}");

        // The reference: the fp32 model with every weight rounded to bf16.
        using var reference = Load(ScalarType.Float32);
        using (no_grad())
            foreach (var p in reference.Unet.parameters().Concat(reference.TextEncoder.parameters()))
                p.copy_(p.to(ScalarType.BFloat16).to(ScalarType.Float32));

        var input = LoraBake.Tests.Models.UNet.TinyAUNet.LoadGolden();
        using (no_grad())
        {
            var ids = tensor(new long[] { 49406, 320, 1125, 49407 }).unsqueeze(0);
            Assert.True(reference.TextEncoder.forward(ids).equal(widened.TextEncoder.forward(ids)).all().item<bool>(), "text encoder outputs differ");
            Assert.True(reference.Unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"])
                .equal(widened.Unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"])).all().item<bool>(), "UNet outputs differ");
        }

        // One training step's adapter gradients (LoCon: Linear and 3×3 targets) agree with the rounded fp32 model's.
        Dictionary<string, Tensor> Gradients(Sd1Model sd)
        {
            using var net = LoraNetwork.Create(sd.Unet, null, NetworkType.LoCon, dim: 4, alpha: 2, convDim: 2, convAlpha: 1);
            var generator = new Generator(20261202);
            using (no_grad())
                foreach (var p in net.parameters()) p.copy_(randn(p.shape, generator: generator) * 0.1);
            sd.Unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"]).square().mean().backward();
            var grads = net.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
            net.Remove();
            return grads;
        }
        var expected = Gradients(reference);
        var actual = Gradients(widened);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        Assert.Contains(expected, g => g.Key.Contains("resnets") && g.Value.abs().max().item<float>() > 0);
        foreach (var (name, grad) in expected)
            FloatAssert.Close(grad, actual[name], rtol: 1e-5, atol: 1e-7, name);
    }

    [Fact]
    public void Only_a_cpu_whose_bf16_is_wrong_widens()
    {
        WithBf16Refused(() =>
        {
            Assert.True(FrozenPrecision.For(ScalarType.BFloat16).Widened);
            Assert.False(FrozenPrecision.For(ScalarType.BFloat16, DeviceType.CUDA).Widened);   // the guard speaks for the CPU only
            Assert.False(FrozenPrecision.For(ScalarType.Float32).Widened);
            return 0;
        });
        if (NumericsGuard.Current.Bf16Usable) Assert.False(FrozenPrecision.For(ScalarType.BFloat16).Widened);
    }
}
