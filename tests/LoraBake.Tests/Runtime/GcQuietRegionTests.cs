using System.Diagnostics;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Tests.Runtime;

/// <summary>
/// The race <see cref="GcQuietRegion"/> exists for: tensor additions (each hands a temporary Scalar to LibTorch) while
/// another thread allocates flat out. Without the regions this failed within 1–3 s here with "Expected false to be
/// true" (c10::Scalar::toFloat reading a freed Scalar); inside regions it must run its whole time.
/// Runs alone (its allocating thread would expose every other test's LibTorch calls to the same race).
/// </summary>
[Collection(AloneCollection.Name)]
public class GcQuietRegionTests
{
    [Fact]
    public void Additions_inside_regions_survive_collections_started_by_another_thread()
    {
        using var x = randn(256, 1024);
        using var y = randn(256, 1024);
        var stop = false;
        var noise = new Thread(() =>
        {
            var keep = new object[64];
            int i = 0;
            while (!Volatile.Read(ref stop)) keep[i++ & 63] = new byte[2000];
        }) { IsBackground = true };
        noise.Start();
        var clock = Stopwatch.StartNew();
        int collectionsBefore = GC.CollectionCount(0);
        try
        {
            while (clock.Elapsed.TotalSeconds < 8)
            {
                using var region = GcQuietRegion.Enter();
                Assert.True(GcQuietRegion.Holding, "the finalizer thread did not reach the hold");
                for (int k = 0; k < 50; k++)
                {
                    using var z = x + y;
                }
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            noise.Join();
        }
        // The other thread's allocations did start collections (inside regions too): the race was live, not idle.
        Assert.True(GC.CollectionCount(0) > collectionsBefore + 10, "too few collections ran during the test");
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "runs alone";
}
