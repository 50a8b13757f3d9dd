using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void Torch_initialises_and_computes_in_the_test_host()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        using var b = matmul(a, a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
        Assert.StartsWith("2.10", torch.__version__);
    }

    [Fact]
    public void Seeded_cpu_generator_matches_pytorch()
    {
        // torch.manual_seed(0); torch.randn(3) in PyTorch gives these values: TorchSharp shares the generator.
        using var g = new Generator(0);
        using var x = randn(new long[] { 3 }, generator: g);
        var v = x.data<float>().ToArray();
        Assert.Equal(1.5410f, v[0], 3);
        Assert.Equal(-0.2934f, v[1], 3);
        Assert.Equal(-2.1788f, v[2], 3);
    }

    [Fact]
    public void Doctor_reports_whether_the_glibcxx_fix_is_in_place()
    {
        var r = TorchRuntime.Describe();
        Assert.False(string.IsNullOrEmpty(r.TorchVersion));
        Assert.True(r.Threads >= 1);
        if (OperatingSystem.IsLinux() && !r.SystemHasGlibcxx)
            Assert.True(r.GlibcxxRequirementWeak, "libstdc++ lacks GLIBCXX_3.4.32, so the build must have weakened the requirement");
    }
}
