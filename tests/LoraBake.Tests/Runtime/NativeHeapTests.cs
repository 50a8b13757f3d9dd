using System.Globalization;
using LoraBake.Runtime;
using LoraBake.Tests.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Runtime;

// Alone: page faults are counted for the whole process, and parallel tests would add theirs.
[Collection(RouteCollection.Name)]
public class NativeHeapTests
{
    /// <summary>
    /// A training step frees gigabytes of activations and allocates them again in the next step. With glibc's
    /// defaults the freed top of the heap goes back to the kernel and every step faults it in again; with the heap
    /// kept, the second round of the same allocations touches pages the process already has.
    /// </summary>
    [Fact]
    public void Freed_tensor_memory_is_reused_without_page_faults()
    {
        if (!OperatingSystem.IsLinux()) return;   // the settings are glibc's
        if (NativeHeap.State.StartsWith("left to the user", StringComparison.Ordinal)) return;
        Assert.True(NativeHeap.Applied, NativeHeap.State);
        const int tensors = 40;
        const long floats = 2L << 20;   // 8 MB each, 320 MB a round: above glibc's default trim threshold
        void Round()
        {
            var held = new List<Tensor>();
            for (int i = 0; i < tensors; i++) held.Add(ones(floats));   // ones, not empty: the pages are touched
            foreach (var t in held) t.Dispose();
        }
        Round();
        long before = MinorFaults();
        for (int r = 0; r < 3; r++) Round();
        long faults = MinorFaults() - before;
        long pagesTouched = 3L * tensors * floats * sizeof(float) / Environment.SystemPageSize;
        Assert.True(faults < pagesTouched / 10,
            $"{faults} minor page faults for {pagesTouched} pages of reallocated tensors: freed memory went back to the kernel ({NativeHeap.State})");
    }

    /// <summary>Field 10 of /proc/self/stat (after the parenthesised command name, which may hold spaces).</summary>
    static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);   // fields[0] is field 3 (state)
    }
}
