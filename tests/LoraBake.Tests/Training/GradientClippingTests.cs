using LoraBake.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>The on-device clipping (used off the CPU) is LibTorch's clip_grad_norm_, checked on the CPU.</summary>
public class GradientClippingTests
{
    static List<Parameter> WithGrads(long seed)
    {
        using var g = new Generator((ulong)seed);
        var ps = new List<Parameter>();
        foreach (var shape in new long[][] { [4, 3], [7], [2, 2, 3, 3] })
        {
            var p = new Parameter(randn(shape, generator: g));
            p.grad = randn(shape, generator: g) * 3;
            ps.Add(p);
        }
        ps.Add(new Parameter(randn([5], generator: g)));   // no gradient: left out, as LibTorch does
        return ps;
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(100.0)]
    public void On_device_clipping_equals_LibTorchs_clip_grad_norm(double maxNorm)
    {
        var reference = WithGrads(5);
        var onDevice = WithGrads(5);
        nn.utils.clip_grad_norm_(reference.Where(p => p.grad is not null), maxNorm);
        GradientClipping.OnDevice(onDevice, maxNorm);
        for (int i = 0; i < reference.Count - 1; i++)
        {
            var expected = reference[i].grad!.data<float>().ToArray();
            var actual = onDevice[i].grad!.data<float>().ToArray();
            for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k], actual[k], 1e-6f * Math.Max(1f, Math.Abs(expected[k])));
        }
        Assert.Null(onDevice[^1].grad);
    }
}
