using LoraBake.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>The fp16 loss scaler's rules (GradScaler's), on CPU tensors: no GPU is needed to check the arithmetic.</summary>
public class DynamicLossScalerTests
{
    [Fact]
    public void Only_fp16_on_CUDA_needs_one()
    {
        Assert.True(DynamicLossScaler.Needed(new torch.Device(DeviceType.CUDA, 0), ScalarType.Float16));
        Assert.False(DynamicLossScaler.Needed(new torch.Device(DeviceType.CUDA, 0), ScalarType.BFloat16));
        Assert.False(DynamicLossScaler.Needed(new torch.Device(DeviceType.CUDA, 0), ScalarType.Float32));
        Assert.False(DynamicLossScaler.Needed(CPU, ScalarType.Float16));
    }

    [Fact]
    public void Finite_gradients_are_unscaled_exactly_and_the_step_goes_ahead()
    {
        var scaler = new DynamicLossScaler(initialScale: 1024);
        using var loss = tensor(0.25f);
        using var scaled = scaler.ScaleLoss(loss);
        Assert.Equal(256f, scaled.item<float>());

        using var g1 = tensor(new[] { 1024f, -2048f });
        using var g2 = tensor(new[] { 512f });
        Assert.True(scaler.UnscaleAndUpdate([g1, g2]));
        Assert.Equal(new[] { 1f, -2f }, g1.data<float>().ToArray());
        Assert.Equal(new[] { 0.5f }, g2.data<float>().ToArray());
        Assert.Equal(1024, scaler.Scale);
        Assert.Equal(1, scaler.CleanSteps);
        Assert.Equal(0, scaler.SkippedSteps);
    }

    [Theory]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NaN)]
    public void An_overflowed_gradient_skips_the_step_and_halves_the_scale(float bad)
    {
        var scaler = new DynamicLossScaler(initialScale: 1024, growthInterval: 3);
        using var ok = tensor(new[] { 1f });
        Assert.True(scaler.UnscaleAndUpdate([ok]));
        using var g = tensor(new[] { 1f, bad });
        Assert.False(scaler.UnscaleAndUpdate([ok, g]));
        Assert.Equal(512, scaler.Scale);
        Assert.Equal(0, scaler.CleanSteps);
        Assert.Equal(1, scaler.SkippedSteps);
    }

    [Fact]
    public void The_scale_grows_after_the_interval_of_clean_steps_and_not_before()
    {
        var scaler = new DynamicLossScaler(initialScale: 8, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3);
        scaler.Update(finite: true);
        scaler.Update(finite: true);
        Assert.Equal(8, scaler.Scale);
        scaler.Update(finite: true);
        Assert.Equal(16, scaler.Scale);
        Assert.Equal(0, scaler.CleanSteps);
        scaler.Update(finite: true);
        scaler.Update(finite: false);                 // an overflow restarts the count
        scaler.Update(finite: true);
        scaler.Update(finite: true);
        Assert.Equal(8, scaler.Scale);
        scaler.Update(finite: true);
        Assert.Equal(16, scaler.Scale);
    }

    [Fact]
    public void The_defaults_are_GradScalers()
    {
        var scaler = new DynamicLossScaler();
        Assert.Equal(65536.0, scaler.Scale);
        Assert.Equal(2.0, scaler.GrowthFactor);
        Assert.Equal(0.5, scaler.BackoffFactor);
        Assert.Equal(2000, scaler.GrowthInterval);
    }
}
