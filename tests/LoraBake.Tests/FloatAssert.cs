using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraBake.Tests;

/// <summary>
/// Float results compared within a stated tolerance: |actual − expected| ≤ atol + rtol·|expected| everywhere.
/// Two code paths (oneDNN or unfold, with or without autograd) may round differently in the last bits, so
/// bitwise equality is only asserted where the same kernels ran on the same data.
/// </summary>
static class FloatAssert
{
    public static void Close(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.detach().to(ScalarType.Float64);
        using var a = actual.detach().to(ScalarType.Float64);
        Assert.True(a.isfinite().all().item<bool>(), $"{what}: not finite");
        using var excess = (a - e).abs() - (atol + rtol * e.abs());
        double worst = excess.max().item<double>();
        Assert.True(worst <= 0, $"{what}: differs by up to {(a - e).abs().max().item<double>():G3} (allowed {atol:G3} + {rtol:G3}·|x|)");
    }

    /// <summary>The same check for plain numbers (losses read from loss.csv, metrics).</summary>
    public static void Close(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(double.IsFinite(actual[i]) && Math.Abs(actual[i] - expected[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}[{i}]: {actual[i]:R} is not {expected[i]:R} (allowed {atol:G3} + {rtol:G3}·|x|)");
    }
}
