namespace LoraBake.Tests.Numerics;

/// <summary>
/// Tests that switch the process's convolution route (a process-wide choice) run alone, after the parallel
/// tests, so no other test runs on a route it did not ask for.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RouteCollection
{
    public const string Name = "convolution routes (run alone)";
}
