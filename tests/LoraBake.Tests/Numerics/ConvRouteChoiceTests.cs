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
