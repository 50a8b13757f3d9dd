namespace LoraBake.Tests.Numerics;

/// <summary>
/// Tests that depend on process-wide torch state run alone, after the parallel tests: those that switch the
/// convolution route, and those that compare the bytes of two trainings (a network's initial weights come
/// from torch's global generator, which a test running beside them would advance).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RouteCollection
{
    public const string Name = "process-wide torch state (run alone)";
}
