using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.Training;

namespace LoraBake.Tests.Training;

public class LrScheduleTests
{
    private const double Tol = 1e-12;

    [Fact]
    public void Constant_is_one_and_refuses_warmup()
    {
        var s = new LrSchedule(LrSchedulerType.Constant, 100);
        Assert.Equal(1.0, s.Multiplier(0));
        Assert.Equal(1.0, s.Multiplier(99));
        Assert.Throws<UserError>(() => new LrSchedule(LrSchedulerType.Constant, 100, warmupSteps: 5));
    }

    [Fact]
    public void Constant_with_warmup_ramps_linearly_from_zero()
    {
        var s = new LrSchedule(LrSchedulerType.ConstantWithWarmup, 100, warmupSteps: 4);
        Assert.Equal(0.0, s.Multiplier(0), Tol);   // 0/4
        Assert.Equal(0.25, s.Multiplier(1), Tol);  // 1/4
        Assert.Equal(0.75, s.Multiplier(3), Tol);  // 3/4
        Assert.Equal(1.0, s.Multiplier(4), Tol);
        Assert.Equal(1.0, s.Multiplier(100), Tol);
    }

    [Fact]
    public void Linear_decays_to_zero_at_total()
    {
        // T = 10, W = 2: warmup s/2, then (10 − s)/(10 − 2).
        var s = new LrSchedule(LrSchedulerType.Linear, 10, warmupSteps: 2);
        Assert.Equal(0.5, s.Multiplier(1), Tol);    // 1/2
        Assert.Equal(1.0, s.Multiplier(2), Tol);    // 8/8
        Assert.Equal(0.625, s.Multiplier(5), Tol);  // 5/8
        Assert.Equal(0.0, s.Multiplier(10), Tol);
        Assert.Equal(0.0, s.Multiplier(12), Tol);   // max(0, −2/8)
    }

    [Fact]
    public void Cosine_is_half_a_cosine_period_after_warmup()
    {
        // T = 12, W = 2: p = (s − 2)/10, m = ½(1 + cos(π·p)).
        var s = new LrSchedule(LrSchedulerType.Cosine, 12, warmupSteps: 2);
        Assert.Equal(0.5, s.Multiplier(1), Tol);                                     // warmup 1/2
        Assert.Equal(1.0, s.Multiplier(2), Tol);                                     // p = 0
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.3)), s.Multiplier(5), Tol);     // p = 0.3 → 0.793892…
        Assert.Equal(0.5, s.Multiplier(7), Tol);                                     // p = 0.5 → cos(π/2) = 0
        Assert.Equal(0.0, s.Multiplier(12), Tol);                                    // p = 1 → cos π = −1
        Assert.Equal(0.7938926261462366, s.Multiplier(5), 1e-12);
    }

    [Fact]
    public void Cosine_with_restarts_returns_to_full_lr_each_cycle()
    {
        // T = 10, W = 0, N = 2: p = s/10, m = ½(1 + cos(π·((2p) mod 1))), 0 once p ≥ 1.
        var s = new LrSchedule(LrSchedulerType.CosineWithRestarts, 10, numCycles: 2);
        Assert.Equal(1.0, s.Multiplier(0), Tol);                                   // (0) mod 1 = 0
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.4)), s.Multiplier(2), Tol);   // 2·0.2 = 0.4 → 0.654508…
        Assert.Equal(1.0, s.Multiplier(5), Tol);                                   // 2·0.5 = 1.0 mod 1 = 0: restart
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.4)), s.Multiplier(7), 1e-12); // 1.4 mod 1 = 0.4
        Assert.Equal(0.0, s.Multiplier(10), Tol);                                  // p = 1
    }

    [Fact]
    public void Polynomial_decays_to_lr_end_with_power()
    {
        // lr0 = 1e-3, lr_end = 1e-7, power 2, T = 10, W = 2.
        // s = 6: remaining = 1 − 4/8 = 0.5; lr = (1e-3 − 1e-7)·0.25 + 1e-7 = 2.50075e-4 → m = 0.250075.
        var s = new LrSchedule(LrSchedulerType.Polynomial, 10, warmupSteps: 2, power: 2.0, initialLr: 1e-3);
        Assert.Equal(0.5, s.Multiplier(1), Tol);
        Assert.Equal(1.0, s.Multiplier(2), Tol);
        Assert.Equal(0.250075, s.Multiplier(6), 1e-12);
        Assert.Equal(1e-4, s.Multiplier(10), 1e-15);   // remaining 0 → lr_end/lr0
        Assert.Equal(1e-4, s.Multiplier(11), 1e-15);   // past T
    }

    [Fact]
    public void Warmup_from_ratio_truncates_like_python_int()
    {
        Assert.Equal(5, LrSchedule.WarmupFromRatio(100, 0.05));
        Assert.Equal(16, LrSchedule.WarmupFromRatio(333, 0.05));   // 16.65 → 16
        Assert.Equal(0, LrSchedule.WarmupFromRatio(100, 0.0));
    }

    [Fact]
    public void Names_round_trip()
    {
        foreach (var t in Enum.GetValues<LrSchedulerType>())
            Assert.Equal(t, LrSchedulers.ParseType(LrSchedulers.Name(t)));
        Assert.Throws<UserError>(() => LrSchedulers.ParseType("cosine_annealing"));
    }
}
