using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// Where a render's random draws come from, as diffusers' <c>generator</c> argument: one generator for the whole
/// batch (<c>num_images_per_prompt</c>: B images from one seed), or a list with one per image, where
/// <c>randn_tensor</c> draws image i as a [1, …] tensor from generator i. The list is what lets the seeds of a grid
/// cell share a UNet batch: image i gets exactly the noise a render of seed i alone would draw.
/// </summary>
public sealed class NoiseGenerators : IDisposable
{
    readonly Generator[] _generators;
    readonly bool _owned;

    NoiseGenerators(Generator[] generators, bool owned)
    {
        if (generators.Length == 0) throw new ArgumentException("at least one generator is needed", nameof(generators));
        _generators = generators;
        _owned = owned;
    }

    /// <summary>One CPU generator for the whole batch, seeded with <paramref name="seed"/>.</summary>
    public static NoiseGenerators Single(long seed) => new([new Generator((ulong)seed)], owned: true);

    /// <summary>One CPU generator per image, seeded with each seed in order.</summary>
    public static NoiseGenerators PerImage(IReadOnlyList<long> seeds) =>
        new(seeds.Select(s => new Generator((ulong)s)).ToArray(), owned: true);

    /// <summary>Draws from generators the caller owns (and disposes).</summary>
    public static NoiseGenerators Of(params Generator[] generators) => new(generators, owned: false);

    /// <summary>1 for a single generator; else the batch size it draws for.</summary>
    public int Count => _generators.Length;

    /// <summary>A standard-normal tensor of <paramref name="shape"/>, drawn on the generators' device, then moved.</summary>
    public Tensor Randn(long[] shape, ScalarType dtype, Device device)
    {
        if (_generators.Length == 1) return SamplerNoise.Randn(shape, dtype, device, _generators[0]);
        if (shape.Length == 0 || shape[0] != _generators.Length)
            throw new ArgumentException($"{_generators.Length} generators draw a batch of {_generators.Length}, not [{string.Join(",", shape)}]");
        using var scope = NewDisposeScope();
        var one = shape.ToArray();
        one[0] = 1;
        var parts = _generators.Select(g => SamplerNoise.Randn(one, dtype, device, g)).ToList();
        return cat(parts, 0).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        if (!_owned) return;
        foreach (var g in _generators) g.Dispose();
    }
}
