using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TorchSharp;

namespace LoraBake.Numerics;

/// <summary>
/// The self-test's verdicts, kept per machine: the oneDNN kernels JIT-compile per shape, so the full test
/// costs seconds, while its answer only changes with the CPU, the LibTorch build, the thread count or the
/// test itself. Stored in <c>$LORABAKE_CACHE_DIR</c>, else <c>$XDG_CACHE_HOME/lorabake</c>, else
/// <c>~/.cache/lorabake</c>, under a name that hashes all of those; delete the file to test again.
/// </summary>
public static class SelfTestCache
{
    /// <summary>Bump when the self-test's shapes, tolerances or classes change, or the fallback it checks does.</summary>
    const int TestVersion = 3;   // 3: the unfold route builds its columns with Im2Col

    sealed record Stored(List<StoredClass> Classes, bool UnfoldCorrect, bool Bf16Correct, bool Bf16UnfoldedCorrect, List<KernelCheck> Checks, double Milliseconds, string Machine);
    sealed record StoredClass(bool PointWise, long Stride, bool Batched, ChannelAlignment In, ChannelAlignment Out, bool Forward, bool Backward);

    public static string Directory
    {
        get
        {
            var explicitDir = Environment.GetEnvironmentVariable("LORABAKE_CACHE_DIR");
            if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "lorabake");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "lorabake");
        }
    }

    /// <summary>
    /// Environment variables that change which kernels LibTorch and oneDNN dispatch to (read once by the native
    /// libraries at their first use): ONEDNN_MAX_CPU_ISA=AVX2, for one, caps oneDNN below AVX-512.
    /// </summary>
    static readonly string[] KernelEnvironment = ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ONEDNN_CPU_ISA_HINTS", "ATEN_CPU_CAPABILITY"];

    /// <summary>What decides the kernels' results: CPU model and features, LibTorch version, threads, the kernel-dispatch environment.</summary>
    public static string MachineKey()
    {
        var cpu = CpuIdentity.Describe();
        var dispatch = string.Concat(KernelDispatchSettings().Select(e => " | " + e));
        return $"{cpu} | libtorch {torch.__version__} | {torch.get_num_threads()} threads | {RuntimeInformation.OSArchitecture}{dispatch} | self-test v{TestVersion}";
    }

    /// <summary>NAME=value of each kernel-dispatch variable that is set (usually none).</summary>
    public static IEnumerable<string> KernelDispatchSettings() => KernelEnvironment
        .Select(name => (name, value: Environment.GetEnvironmentVariable(name)))
        .Where(e => !string.IsNullOrEmpty(e.value))
        .Select(e => $"{e.name}={e.value}");

    /// <param name="directory">The cache folder; null for <see cref="Directory"/>.</param>
    public static string PathFor(string machineKey, string prefix = "numerics", string? directory = null) =>
        Path.Combine(directory ?? Directory, prefix + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(machineKey)))[..16] + ".json");

    /// <summary>Writes <paramref name="json"/> to <paramref name="path"/> atomically; a read-only cache folder is not an error.</summary>
    public static void Write(string path, string json)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temp = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllText(temp, json);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Read-only home: the next process measures again.
        }
    }

    sealed record Cached<T>(string Machine, T Value);

    /// <summary>
    /// A measurement kept per machine beside the self-test (the precision probe, the convolution route timing): the
    /// stored value for <paramref name="machineKey"/>, else <paramref name="measure"/>'s, then stored. A damaged or
    /// unreadable file is the same as none.
    /// </summary>
    public static (T Value, bool FromCache) LoadOrMeasure<T>(string machineKey, string prefix, Func<T> measure, string? directory = null)
        where T : class
    {
        string path = PathFor(machineKey, prefix, directory);
        try
        {
            if (File.Exists(path) && JsonSerializer.Deserialize<Cached<T>>(File.ReadAllText(path)) is { Value: not null } c && c.Machine == machineKey)
                return (c.Value, true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            // Measure again.
        }
        var value = measure();
        Write(path, JsonSerializer.Serialize(new Cached<T>(machineKey, value)));
        return (value, false);
    }

    /// <summary>The stored result for this machine, or a fresh run (then stored). Never fails on cache I/O.</summary>
    public static (KernelSelfTest.Result Result, bool FromCache) Load(Func<KernelSelfTest.Result> run)
    {
        string key = MachineKey(), path = PathFor(key);
        try
        {
            if (File.Exists(path))
            {
                var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path));
                if (stored is not null && stored.Machine == key)
                    return (new KernelSelfTest.Result(
                        stored.Classes.ToDictionary(c => new ConvClass(c.PointWise, c.Stride, c.Batched, c.In, c.Out), c => (c.Forward, c.Backward)),
                        stored.UnfoldCorrect, stored.Bf16Correct, stored.Bf16UnfoldedCorrect, stored.Checks, stored.Milliseconds), true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            // A damaged or unreadable cache is the same as none: test again.
        }
        var result = run();
        var toStore = new Stored(
            result.Classes.Select(kv => new StoredClass(kv.Key.PointWise, kv.Key.Stride, kv.Key.Batched, kv.Key.In, kv.Key.Out, kv.Value.Forward, kv.Value.Backward)).ToList(),
            result.UnfoldCorrect, result.Bf16Correct, result.Bf16UnfoldedCorrect, result.Checks.ToList(), result.Milliseconds, key);
        Write(path, JsonSerializer.Serialize(toStore, new JsonSerializerOptions { WriteIndented = true }));
        return (result, false);
    }
}
