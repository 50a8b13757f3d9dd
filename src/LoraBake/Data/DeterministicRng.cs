namespace LoraBake.Data;

/// <summary>
/// A small random generator whose sequence is fixed by this file alone (System.Random's algorithm may change
/// between runtimes): SplitMix64 (Steele, Lea, Flood 2014) — state += 0x9E3779B97F4A7C15, then the
/// variant-13 mixer. A generator is seeded by mixing its key parts one after another through the same mixer,
/// so (seed, epoch, sample) → one independent stream, the same on every machine and .NET version.
/// </summary>
public sealed class DeterministicRng
{
    private ulong _state;

    public DeterministicRng(params long[] key)
    {
        ulong s = 0x6C6F7261_62616B65; // "lorabake"
        foreach (var k in key) s = Mix(s ^ Mix((ulong)k + 0x9E3779B97F4A7C15));
        _state = s;
    }

    private DeterministicRng(ulong state, bool _) => _state = state;

    /// <summary>A generator with a raw SplitMix64 state (for checking against the reference implementation).</summary>
    internal static DeterministicRng FromState(ulong state) => new(state, true);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1) with 53 bits of precision.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong range = (ulong)n;
        ulong threshold = (0UL - range) % range;
        while (true)
        {
            var x = NextUInt64();
            var product = Math.BigMul(x, range, out var low);
            if (low >= threshold) return (int)product;
        }
    }

    /// <summary>Fisher–Yates shuffle in place (from the end, as Python's random.shuffle).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
