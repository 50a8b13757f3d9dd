using LoraBake.Numerics;
using Xunit.Abstractions;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// Which convolution route the guard takes: the self-test's verdicts say which routes are right, and where two are,
/// a measurement says which is faster on this machine.
/// </summary>
[Collection(RouteCollection.Name)]
public class ConvRouteChoiceTests(ITestOutputHelper output)
{
    static KernelSelfTest.Result Verdicts(bool allOneDnnClassesPass, bool unfoldCorrect) => new(
        new Dictionary<ConvClass, (bool, bool)>
        {
            [new ConvClass(false, 1, false, ChannelAlignment.Full, ChannelAlignment.Full)] = (true, true),
            [new ConvClass(false, 1, true, ChannelAlignment.Ragged, ChannelAlignment.Full)] = (allOneDnnClassesPass, true),
        },
        unfoldCorrect, true, true, [], 1);

    [Theory]
    [InlineData(0.2, 0.3, ConvRoute.OneDnn)]
    [InlineData(0.3, 0.2, ConvRoute.Guarded)]
    [InlineData(0.2, 0.2, ConvRoute.OneDnn)]   // a tie keeps LibTorch's own kernels
    [InlineData(0.22, 0.2, ConvRoute.OneDnn)]  // and so does a near tie (within timing noise)
    public void Where_both_routes_are_right_the_measured_faster_one_is_taken(double oneDnn, double unfold, ConvRoute expected)
    {
        var (route, timing) = NumericsGuard.ChooseRoute(Verdicts(true, true), () => new ConvRouteTiming(oneDnn, unfold, false));
        Assert.Equal(expected, route);
        Assert.NotNull(timing);
    }

    [Theory]
    [InlineData(false, true, ConvRoute.Guarded)]
    [InlineData(true, false, ConvRoute.OneDnn)]
    [InlineData(false, false, ConvRoute.Native)]
    public void Where_one_route_is_wrong_no_measurement_can_pick_it(bool oneDnnRight, bool unfoldRight, ConvRoute expected)
    {
        var (route, timing) = NumericsGuard.ChooseRoute(Verdicts(oneDnnRight, unfoldRight),
            () => throw new InvalidOperationException("measured although only one route is right"));
        Assert.Equal(expected, route);
        Assert.Null(timing);
    }

    [Fact]
    public void The_timing_probe_times_its_backward_inside_a_callers_no_grad()
    {
        // The guard decides at its first use, which can be a render's forward under no_grad (a fresh machine, no cache).
        using (TorchSharp.torch.no_grad())
        {
            var timing = ConvRouteTiming.Measure();
            Assert.True(timing.OneDnnSeconds > 0 && timing.UnfoldSeconds > 0, timing.Summary);
            Assert.False(TorchSharp.torch.is_grad_enabled(), "the caller's no_grad is restored");
        }
    }

    [Theory]
    [InlineData("onednn", false, true, "1/2 oneDNN shape classes")]
    [InlineData("guarded", true, false, "(unfold + matmul) failed")]
    [InlineData("onednn", true, true, null)]
    [InlineData("guarded", true, true, null)]
    [InlineData("native", false, false, null)]
    public void A_recipe_may_name_only_a_route_the_self_test_passed(string route, bool oneDnnRight, bool unfoldRight, string? refusal)
    {
        string? why = NumericsGuard.WrongOnThisCpu(ConvRoutes.Parse(route)!.Value, Verdicts(oneDnnRight, unfoldRight));
        if (refusal is null) Assert.Null(why);
        else Assert.Contains(refusal, why);
    }

    [Fact]
    public void The_recipe_route_is_applied_refused_with_its_file_or_undone_by_auto()
    {
        if (Environment.GetEnvironmentVariable(ConvRoutes.EnvironmentVariable) is { Length: > 0 }) return;   // the environment wins by design
        try
        {
            var auto = NumericsGuard.Use(null);
            var test = Assert.IsType<KernelSelfTest.Result>(auto.SelfTest);
            // The route auto did not pick, when it is right here; else native, which the self-test never rules out.
            var other = auto.Route != ConvRoute.Guarded && test.UnfoldCorrect ? ConvRoute.Guarded : ConvRoute.Native;
            Assert.Null(NumericsGuard.ApplyRecipe(ConvRoutes.Name(other), "projects/p/project.yaml"));
            Assert.Equal((other, NumericsGuard.RecipeKey), (NumericsGuard.Current.Route, NumericsGuard.Current.ForcedBy));
            Assert.Contains($"convolutions {ConvRoutes.Name(other)}", NumericsGuard.Current.Environment);

            Assert.Null(NumericsGuard.ApplyRecipe("auto", "projects/q/project.yaml"));
            Assert.Equal((auto.Route, (string?)null), (NumericsGuard.Current.Route, NumericsGuard.Current.ForcedBy));

            if (NumericsGuard.WrongOnThisCpu(ConvRoute.OneDnn, test) is { } why)
            {
                string? error = NumericsGuard.ApplyRecipe("onednn", "projects/p/project.yaml");
                Assert.StartsWith("projects/p/project.yaml: training.conv_route: onednn", error);
                Assert.Contains(why, error);
                Assert.Equal(auto.Route, NumericsGuard.Current.Route);   // nothing changed
            }
            Assert.Contains("'fast' is not a convolution route", NumericsGuard.ApplyRecipe("fast", "projects/p/project.yaml"));
        }
        finally { NumericsGuard.Use(null); }
    }

    [Fact]
    public void The_measurement_times_both_routes_and_is_cached_for_the_machine()
    {
        using var dir = new TempFolder("lorabake-convroute-");
        var first = ConvRouteTiming.LoadOrMeasure(dir);
        output.WriteLine(first.Summary);
        Assert.False(first.FromCache);
        Assert.True(first.OneDnnSeconds > 0 && first.UnfoldSeconds > 0, first.Summary);
        var second = ConvRouteTiming.LoadOrMeasure(dir);
        Assert.True(second.FromCache);
        Assert.Equal((first.OneDnnSeconds, first.UnfoldSeconds), (second.OneDnnSeconds, second.UnfoldSeconds));
        Assert.Contains("cached", second.Summary);

        // A damaged file is measured again.
        foreach (var f in Directory.GetFiles(dir, "convroute-*.json")) File.WriteAllText(f, "{ not json");
        Assert.False(ConvRouteTiming.LoadOrMeasure(dir).FromCache);
    }
}
