using TorchSharp;

namespace LoraBake.Runtime;

/// <summary>Facts about the TorchSharp runtime in this process, for `lorabake doctor` and benchmarks.</summary>
public static class TorchRuntime
{
    public sealed record Report(
        string TorchVersion, int Threads, int InteropThreads, bool CudaAvailable,
        string? NativeLibraryPath, bool? GlibcxxRequirementWeak, bool SystemHasGlibcxx);

    public static Report Describe()
    {
        string version = torch.__version__;
        string? native = FindLibTorchSharp();
        bool? weak = null;
        if (native != null)
        {
            var flags = ElfWeakVersion.RequirementFlags(File.ReadAllBytes(native), ElfWeakVersion.GlibcxxVersion);
            weak = flags.HasValue ? (flags.Value & 0x2) != 0 : null;
        }
        return new Report(version, torch.get_num_threads(), torch.get_num_interop_threads(), torch.cuda.is_available(),
            native, weak, OperatingSystem.IsLinux() && ElfWeakVersion.SystemLibStdCxxHas(ElfWeakVersion.GlibcxxVersion));
    }

    /// <summary>The libLibTorchSharp.so this process loads (next to TorchSharp.dll, under runtimes/).</summary>
    public static string? FindLibTorchSharp()
    {
        if (!OperatingSystem.IsLinux()) return null;
        string baseDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        foreach (var candidate in new[]
                 {
                     Path.Combine(baseDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
                     Path.Combine(baseDir, "libLibTorchSharp.so"),
                 })
        {
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
