using LoraBake.Models.Checkpoints;
using LoraBake.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LoraBake.Tests.Pipeline;

/// <summary>Sketches of float outputs: a small change is estimated small, a large one large, a change of structure never equal.</summary>
public class OutputSketchTests : IDisposable
{
    readonly TempFolder _dir = new("lorabake-sketch-");

    public void Dispose() => _dir.Dispose();

    string Tensors(string name, Dictionary<string, Tensor> tensors)
    {
        var path = Path.Combine(_dir, name + ".safetensors");
        SafetensorsWriter.Save(path, tensors);
        return path;
    }

    [Theory]
    [InlineData(1e-4)]
    [InlineData(3e-3)]
    [InlineData(1e-1)]
    public void The_estimate_of_a_relative_change_is_within_a_factor_of_two(double size)
    {
        var g = new Generator(3);
        var a = randn(new long[] { 64, 300 }, generator: g);
        var b = randn(new long[] { 8, 64 }, generator: g);
        var noiseA = randn(a.shape, generator: g);
        var noiseB = randn(b.shape, generator: g);
        // Perturb by exactly `size` relative L2 overall.
        double norm = Math.Sqrt(a.square().sum().item<float>() + b.square().sum().item<float>());
        double noise = Math.Sqrt(noiseA.square().sum().item<float>() + noiseB.square().sum().item<float>());
        double k = size * norm / noise;
        var expected = OutputSketch.Compute(Tensors("a", new() { ["w.a"] = a, ["w.b"] = b }))!;
        var actual = OutputSketch.Compute(Tensors("b", new() { ["w.a"] = a + k * noiseA, ["w.b"] = b + k * noiseB }))!;

        double estimate = OutputSketch.RelativeDifference(expected, actual);
        Assert.InRange(estimate, size / 2, size * 2);
        Assert.Equal(0, OutputSketch.RelativeDifference(expected, expected));
    }

    [Fact]
    public void Another_shape_name_or_size_is_a_different_structure()
    {
        var t = ones(4, 4);
        var baseline = OutputSketch.Compute(Tensors("a", new() { ["x"] = t }))!;
        Assert.Equal(double.PositiveInfinity, OutputSketch.RelativeDifference(baseline, OutputSketch.Compute(Tensors("b", new() { ["y"] = t }))!));
        Assert.Equal(double.PositiveInfinity, OutputSketch.RelativeDifference(baseline, OutputSketch.Compute(Tensors("c", new() { ["x"] = ones(2, 8) }))!));

        var p1 = Path.Combine(_dir, "1.png");
        var p2 = Path.Combine(_dir, "2.png");
        using (var i1 = new Image<Rgb24>(8, 8, new Rgb24(10, 20, 30))) i1.SaveAsPng(p1);
        using (var i2 = new Image<Rgb24>(8, 9, new Rgb24(10, 20, 30))) i2.SaveAsPng(p2);
        Assert.Equal(double.PositiveInfinity, OutputSketch.RelativeDifference(OutputSketch.Compute(p1)!, OutputSketch.Compute(p2)!));
    }

    [Fact]
    public void Text_sketches_compare_the_numbers_and_demand_the_same_words()
    {
        var a = Path.Combine(_dir, "a.csv");
        var b = Path.Combine(_dir, "b.csv");
        var c = Path.Combine(_dir, "c.csv");
        File.WriteAllText(a, "step,loss\n1,0.5000\n2,0.25\n");
        File.WriteAllText(b, "step,loss\n1,0.5001\n2,0.25\n");
        File.WriteAllText(c, "step,LOSS\n1,0.5000\n2,0.25\n");
        var sa = OutputSketch.Compute(a)!;
        Assert.InRange(OutputSketch.RelativeDifference(sa, OutputSketch.Compute(b)!), 1e-6, 1e-3);
        Assert.Equal(double.PositiveInfinity, OutputSketch.RelativeDifference(sa, OutputSketch.Compute(c)!));
        Assert.Equal(sa, OutputSketch.Parse(sa.ToText()) with { Projection = sa.Projection });
        Assert.Equal(sa.Projection, OutputSketch.Parse(sa.ToText()).Projection);
        Assert.Null(OutputSketch.Compute(Path.Combine(_dir, "x.bin")));
    }
}
