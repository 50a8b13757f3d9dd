using LoraBake.Numerics;

namespace LoraBake.Tests.Numerics;

/// <summary>The self-test itself, run for real (not from the machine cache), and its cache.</summary>
[Collection(RouteCollection.Name)]
public class KernelSelfTestTests
{
    [Fact]
    public void It_classifies_every_convolution_class_and_checks_the_fallback_and_bf16()
    {
        var result = KernelSelfTest.Run();
        // 1×1 s1, 3×3 s1, 3×3 s2 × batch 1 / >1 × 4 input × 4 output alignments.
        Assert.Equal(3 * 2 * 4 * 4, result.Classes.Count);
        Assert.Equal(3, result.Checks.Count);
        // The unfold formulation is plain im2col + GEMM: it must be right on any CPU, or nothing is.
        Assert.True(result.UnfoldCorrect, result.Checks[1].Evidence);
        Assert.All(result.Checks, c => Assert.False(string.IsNullOrWhiteSpace(c.Evidence)));
        bool allPass = result.Classes.Values.All(v => v.Forward && v.Backward);
        Assert.Equal(allPass, result.Checks[0].Passed);
    }

    [Fact]
    public void The_cache_returns_what_was_stored_and_a_damaged_cache_file_is_tested_again()
    {
        using var dir = new TempFolder("lorabake-selftest-");
        var before = Environment.GetEnvironmentVariable("LORABAKE_CACHE_DIR");
        Environment.SetEnvironmentVariable("LORABAKE_CACHE_DIR", dir);
        try
        {
            int runs = 0;
            var stored = new KernelSelfTest.Result(
                new Dictionary<ConvClass, (bool, bool)> { [new ConvClass(false, 2, true, ChannelAlignment.Ragged, ChannelAlignment.Full)] = (false, true) },
                true, false, true, [new KernelCheck("c", false, "e")], 12.5);
            KernelSelfTest.Result Run() { runs++; return stored; }

            var (first, cached1) = SelfTestCache.Load(Run);
            var (second, cached2) = SelfTestCache.Load(Run);
            Assert.Equal((1, false, true), (runs, cached1, cached2));
            Assert.Equal(stored.Classes, second.Classes);
            Assert.Equal((true, false, true, 12.5), (second.UnfoldCorrect, second.Bf16Correct, second.Bf16UnfoldedCorrect, second.Milliseconds));
            Assert.Same(stored, first);

            File.WriteAllText(SelfTestCache.PathFor(SelfTestCache.MachineKey()), "{ not json");
            var (_, cached3) = SelfTestCache.Load(Run);
            Assert.Equal((2, false), (runs, cached3));
        }
        finally
        {
            Environment.SetEnvironmentVariable("LORABAKE_CACHE_DIR", before);
        }
    }
}
