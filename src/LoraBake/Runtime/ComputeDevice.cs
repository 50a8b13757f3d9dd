using System.Globalization;
using TorchSharp;

namespace LoraBake.Runtime;

/// <summary>
/// Which device runs the models: <c>training.device</c> or a command's <c>--device</c> (the flag wins).
/// auto = cuda:0 when this build's LibTorch sees a CUDA device, else cpu. Only cpu has been run; CUDA is
/// plumbed (every tensor follows the model's device, proven on the meta device by tests) but untried.
/// </summary>
public static class ComputeDevice
{
    public const string Auto = "auto";
    public const string AllowedValues = "auto | cpu | cuda | cuda:N";

    /// <summary>Null when <paramref name="value"/> is one of <see cref="AllowedValues"/>; else what is wrong.</summary>
    public static string? Problem(string value)
    {
        var v = value.Trim().ToLowerInvariant();
        if (v is Auto or "cpu" or "cuda") return null;
        if (v.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(v["cuda:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out _)) return null;
        return $"is not a device; use {AllowedValues} (auto picks cuda:0 when CUDA is available, else cpu)";
    }

    /// <summary>The device <paramref name="value"/> names on this machine, as "cpu" or "cuda:N" (auto resolved; nothing checked).</summary>
    public static string Resolve(string value)
    {
        var v = value.Trim().ToLowerInvariant();
        return v switch
        {
            Auto => CudaAvailable ? "cuda:0" : "cpu",
            "cuda" => "cuda:0",
            _ => v,
        };
    }

    /// <summary>
    /// The device to load models on. Throws a UserError naming <paramref name="setting"/> (training.device or --device)
    /// when it is not a device or asks for CUDA this build or machine cannot give.
    /// </summary>
    public static torch.Device Select(string value, string setting)
    {
        if (Problem(value) is { } problem) throw new UserError($"{setting}: '{value}' {problem}.");
        var resolved = Resolve(value);
        if (resolved == "cpu") return torch.CPU;
        int index = int.Parse(resolved["cuda:".Length..], CultureInfo.InvariantCulture);
        if (!CudaAvailable)
            throw new UserError($"{setting}: {value} asks for a CUDA GPU, but this build's LibTorch sees none ({Backend}). " +
                                "Build with the CUDA backend (`dotnet build src/LoraBake.Cli -c Release -p:TorchBackend=cuda`, or `TorchBackend=cuda ./build.sh ...`; " +
                                "see src/TorchBackend.props and the README's GPU section), or set it to auto or cpu.");
        int count = torch.cuda.device_count();
        if (index >= count)
            throw new UserError($"{setting}: {value} asks for CUDA device {index}, but only {count} {(count == 1 ? "is" : "are")} visible (cuda:0..cuda:{count - 1}).");
        return new torch.Device(DeviceType.CUDA, index);
    }

    /// <summary>
    /// What an epoch's fingerprint records: nothing for the CPU (so every lock written before this setting keeps
    /// its fingerprints), "cuda" otherwise: a GPU trains different bits than the CPU, whichever index it has.
    /// </summary>
    public static string? FingerprintComponent(string value) =>
        Problem(value) is null && Resolve(value) != "cpu" ? "cuda" : null;

    public static bool CudaAvailable => torch.cuda.is_available();

    /// <summary>One line for doctor and plan: which backend this build carries.</summary>
    public static string Backend => CudaAvailable
        ? $"CUDA available, {torch.cuda.device_count()} device(s)"
        : !OperatingSystem.IsLinux() ? "no CUDA device is visible to this build's LibTorch"
        : CudaPackageInstalled ? "the CUDA LibTorch package is installed, but no CUDA device or driver is visible"
        : "the CPU LibTorch package is installed";

    /// <summary>Whether LibTorch's CUDA library sits beside the native TorchSharp library this process loads.</summary>
    static bool CudaPackageInstalled =>
        TorchRuntime.FindLibTorchSharp() is { } native && Path.GetDirectoryName(native) is { } dir
        && (File.Exists(Path.Combine(dir, "libtorch_cuda.so")) || File.Exists(Path.Combine(dir, "torch_cuda.dll")));

    /// <summary>"training.device auto → cpu (CUDA not available: …)": what doctor and plan print.</summary>
    public static string Describe(string value, string setting) =>
        Problem(value) is null ? $"{setting} {value} → {Resolve(value)} ({Backend})" : $"{setting} '{value}' is not a device ({AllowedValues})";
}
