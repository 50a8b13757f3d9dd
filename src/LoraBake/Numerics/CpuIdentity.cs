using System.Runtime.InteropServices;

namespace LoraBake.Numerics;

/// <summary>The CPU as far as kernel choice goes: vendor, family/model and instruction-set flags.</summary>
public static class CpuIdentity
{
    static readonly Lazy<string> Cached = new(Read);

    public static string Describe() => Cached.Value;

    /// <summary>A short human name ("AMD EPYC, family 26 model 2, AVX-512"), for logs and the lock.</summary>
    public static string ShortName()
    {
        var d = Describe();
        var name = d.Split(" | ")[0];
        return name;
    }

    static string Read()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                string? model = null, family = null, modelNo = null, flags = null;
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.Length == 0 && model != null) break;
                    int colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    var key = line[..colon].Trim();
                    var value = line[(colon + 1)..].Trim();
                    switch (key)
                    {
                        case "model name": model ??= value; break;
                        case "cpu family": family ??= value; break;
                        case "model": modelNo ??= value; break;
                        case "flags": flags ??= value; break;
                    }
                }
                var isa = Isa(flags ?? "");
                return $"{model ?? "unknown CPU"}, family {family ?? "?"} model {modelNo ?? "?"}, {isa} | {Environment.ProcessorCount} cores | flags {flags}";
            }
        }
        catch (IOException)
        {
        }
        return $"{RuntimeInformation.ProcessArchitecture} | {Environment.ProcessorCount} cores";
    }

    /// <summary>The widest vector ISA the kernels can pick, which is what changes their code paths.</summary>
    static string Isa(string flags)
    {
        var set = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        if (set.Contains("amx_tile")) return "AMX";
        if (set.Contains("avx512_bf16")) return "AVX-512 BF16";
        if (set.Contains("avx512_vnni")) return "AVX-512 VNNI";
        if (set.Contains("avx512f")) return "AVX-512";
        if (set.Contains("avx2")) return "AVX2";
        return set.Contains("sse4_2") ? "SSE4.2" : "baseline";
    }
}
