using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LoraBake.Runtime;

/// <summary>
/// Keeps LibTorch's freed tensor memory inside the process. LibTorch's CPU allocator is plain malloc; glibc hands
/// the freed top of its heap back to the kernel and serves every block above 32 MB with a fresh mapping, so each
/// training step page-faults (and the kernel zeroes) gigabytes again: 2.5 million minor faults and 19 s of system
/// time in `bench train-step --size sd15 --mixed-precision bf16 --runs 4`. Kept (no trimming, no mappings: every
/// block comes from the heap and goes back to it), the same run takes 7 s of system time and the bf16 step 8.1 s
/// instead of 10.3 s; fp32 steps, whose unfolded convolutions allocate blocks of 40–95 MB, 19.0 s instead of 24.4 s
/// (2-core AMD EPYC fam. 26). The cost: the process's memory stays at its high-water mark until it exits, which is
/// the peak RSS every benchmark reports anyway.
///
/// Applied once, when this assembly loads (before any tensor exists), with glibc's mallopt; a no-op on other C
/// libraries and where the user has chosen their own malloc settings (GLIBC_TUNABLES or MALLOC_*_).
/// </summary>
public static partial class NativeHeap
{
    // mallopt parameters (malloc.h).
    const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_MAX = -4;

    /// <summary>Whether the settings took effect in this process, or why not (for `doctor` and tests).</summary>
    public static string State { get; private set; } = "not applied";

    public static bool Applied { get; private set; }

#pragma warning disable CA2255 // A module initializer in a library, on purpose: it must run before any tensor is made.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux()) { State = "not Linux: the system allocator's defaults"; return; }
        if (UserChoseMallocSettings(out string which)) { State = $"left to the user's {which}"; return; }
        try
        {
            bool ok = mallopt(M_MMAP_MAX, 0) == 1
                      & mallopt(M_TRIM_THRESHOLD, -1) == 1   // -1: never trim (mallopt(3))
                      & mallopt(M_TOP_PAD, 256 << 20) == 1;
            Applied = ok;
            State = ok ? "kept (freed tensor memory is reused, not returned to the kernel)" : "mallopt refused (not glibc?)";
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            State = "no mallopt in this C library";
        }
    }

    static bool UserChoseMallocSettings(out string which)
    {
        string? tunables = Environment.GetEnvironmentVariable("GLIBC_TUNABLES");
        if (tunables != null && tunables.Contains("glibc.malloc.", StringComparison.Ordinal)) { which = "GLIBC_TUNABLES"; return true; }
        foreach (string name in new[] { "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_" })
        {
            if (Environment.GetEnvironmentVariable(name) != null) { which = name; return true; }
        }
        which = "";
        return false;
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);
}
