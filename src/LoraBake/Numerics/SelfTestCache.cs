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
    /// <summary>Bump when the self-test's shapes, tolerances or classes change.</summary>
    const int TestVersion = 2;

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

    /// <summary>What decides the kernels' results: CPU model and features, LibTorch version, threads.</summary>
    public static string MachineKey()
    {
        var cpu = CpuIdentity.Describe();
        return $"{cpu} | libtorch {torch.__version__} | {torch.get_num_threads()} threads | {RuntimeInformation.OSArchitecture} | self-test v{TestVersion}";
    }

    public static string PathFor(string machineKey, string prefix = "numerics") =>
        Path.Combine(Directory, prefix + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(machineKey)))[..16] + ".json");

    /// <summary>Writes <paramref name="json"/> to <paramref name="path"/> atomically; a read-only cache folder is not an error.</summary>
    public static void Write(string path, string json)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var temp = path + "." + Environment.ProcessId + ".tmp";
            File.WriteAllText(temp, json);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Read-only home: the next process measures again.
        }
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
