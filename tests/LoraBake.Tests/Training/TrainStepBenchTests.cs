using LoraBake.Models;
using LoraBake.Training;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>`bench train-step`'s ratio: each timed step is compared with the matmul rate read on either side of it.</summary>
public class TrainStepBenchTests
{
    [Fact]
    public void A_step_is_divided_by_the_mean_of_the_rates_read_before_and_after_it()
    {
        var readings = new Queue<double>([100.0, 300.0]);
        int reads = 0;
        var step = ModelBenchmark.TrainStep(TinySd1.UnetConfig(64), 8, ScalarType.Float32, runs: 1,
            referenceGflops: () => { reads++; return readings.Dequeue(); });

        Assert.Equal(2, reads);
        Assert.Equal(200.0, step.ReferenceGflops);
        Assert.Equal(step.Gflop / step.Seconds / 200.0, step.Ratio, 12);
    }

    [Fact]
    public void Each_step_gets_the_readings_of_its_own_moment()
    {
        // Three steps, four readings: the steps' references are 150, 250 and 350; the ratio is the median step's.
        var readings = new Queue<double>([100.0, 200.0, 300.0, 400.0]);
        var step = ModelBenchmark.TrainStep(TinySd1.UnetConfig(64), 8, ScalarType.Float32, runs: 3,
            referenceGflops: () => readings.Dequeue());

        Assert.Empty(readings);
        Assert.Contains(step.ReferenceGflops, new[] { 150.0, 250.0, 350.0 });
        Assert.Equal(step.Gflop / step.Seconds / step.ReferenceGflops, step.Ratio, 12);
    }

    [Fact]
    public void Without_a_reference_there_is_no_ratio()
    {
        var step = ModelBenchmark.TrainStep(TinySd1.UnetConfig(64), 8, ScalarType.Float32, runs: 1);
        Assert.True(double.IsNaN(step.Ratio));
        Assert.True(step.Seconds > 0 && step.Gflop > 0);
    }
}
