using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>The machine probes' timing: two candidates in turns, a warm-up left out, medians.</summary>
public class TakingTurnsTests
{
    [Fact]
    public void The_candidates_take_turns_and_the_warm_up_is_not_counted()
    {
        // A load that comes or goes during the probe must fall on both candidates, not pick one of them for good.
        var calls = new List<char>();
        int passA = 0, passB = 0;
        // Each candidate's warm-up is far slower than its timed passes, which are 1, 2, 3, … (A) and 10, 20, 30, … (B).
        var (a, b) = TakingTurns.MedianSeconds(
            () => { calls.Add('A'); return passA++ == 0 ? 1000 : passA - 1; },
            () => { calls.Add('B'); return passB++ == 0 ? 1000 : 10 * (passB - 1); });

        Assert.Equal(string.Concat(Enumerable.Repeat("ABBA", TakingTurns.Runs / 2)), new string(calls.ToArray()));
        int timed = TakingTurns.Runs - 1;
        Assert.Equal(timed / 2 + 1, a);
        Assert.Equal(10 * (timed / 2 + 1), b);
    }

    [Fact]
    public void Passes_run_with_gradients_on_inside_a_callers_no_grad()
    {
        var seen = new List<bool>();
        using (no_grad())
        {
            TakingTurns.MedianSeconds(() => { seen.Add(is_grad_enabled()); return 1; }, () => { seen.Add(is_grad_enabled()); return 1; });
            Assert.False(is_grad_enabled(), "the caller's no_grad is restored");
        }
        Assert.Equal(2 * TakingTurns.Runs, seen.Count);
        Assert.All(seen, Assert.True);
    }
}
