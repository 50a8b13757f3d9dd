using LoraBake.Training;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>`mixed_precision: auto`'s speed probe.</summary>
public class AutoPrecisionTests
{
    [Fact]
    public void The_speed_probe_times_its_backward_inside_a_callers_no_grad()
    {
        // auto is decided at its first use, which can be an Evaluate render under no_grad on a machine with no cache.
        using (no_grad())
        {
            var (fp32, bf16) = AutoPrecision.Measure();
            Assert.True(fp32 > 0 && bf16 > 0);
            Assert.False(is_grad_enabled(), "the caller's no_grad is restored");
        }
    }
}
