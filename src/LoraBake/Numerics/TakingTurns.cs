using static TorchSharp.torch;

namespace LoraBake.Numerics;

/// <summary>
/// Times two candidates of a machine probe against each other (the convolution route, <c>mixed_precision: auto</c>),
/// whose verdict is cached for good. They take turns, A B, B A, …, so a load that comes or goes while the probe runs
/// falls on both alike: timed one after the other, a build running beside the first probe on a 2-core Zen 4 cached the
/// slower route and the slower precision.
/// </summary>
public static class TakingTurns
{
    /// <summary>
    /// Passes of each candidate; the first of each is a warm-up (oneDNN JIT-compiles its kernels), the rest make the
    /// median. A single pass swings by a third on an idle 2-core VM (Zen 4: the route probe's oneDNN pass 65–101 ms,
    /// unfold 74–98 ms over four probes of three timed runs), so seven are timed.
    /// </summary>
    public const int Runs = 8;

    /// <summary>
    /// Median seconds of <paramref name="a"/> and of <paramref name="b"/>, each a timed pass that returns its seconds.
    /// Gradients are on while they run: the probes time backward passes and are decided lazily, at their first use,
    /// which may sit in a caller's <c>no_grad</c> (a render on a fresh machine).
    /// </summary>
    public static (double A, double B) MedianSeconds(Func<double> a, Func<double> b)
    {
        using var grad = enable_grad();
        var timesA = new List<double>();
        var timesB = new List<double>();
        for (int run = 0; run < Runs; run++)
        {
            bool aFirst = run % 2 == 0;
            double first = aFirst ? a() : b(), second = aFirst ? b() : a();
            if (run == 0) continue;
            timesA.Add(aFirst ? first : second);
            timesB.Add(aFirst ? second : first);
        }
        return (Median(timesA), Median(timesB));
    }

    static double Median(List<double> times)
    {
        times.Sort();
        return times[times.Count / 2];
    }
}
