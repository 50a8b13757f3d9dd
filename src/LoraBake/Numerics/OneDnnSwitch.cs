using System.Runtime.InteropServices;

namespace LoraBake.Numerics;

/// <summary>
/// LibTorch's process-wide "use oneDNN (mkldnn) for CPU convolutions" switch,
/// <c>at::globalContext().setUserEnabledMkldnn(bool)</c>. TorchSharp does not expose it; libtorch_cpu exports
/// it with the Itanium C++ mangling (Linux, macOS). Where the symbol is missing (Windows' MSVC mangling)
/// <see cref="Available"/> is false and the switch is left alone.
/// </summary>
public static partial class OneDnnSwitch
{
    [LibraryImport("torch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial IntPtr GlobalContext();

    [LibraryImport("torch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static partial void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [LibraryImport("torch_cpu", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool UserEnabledMkldnn(IntPtr context);

    static readonly Lazy<bool> Probe = new(() =>
    {
        try
        {
            _ = UserEnabledMkldnn(GlobalContext());
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    });

    /// <summary>Whether this LibTorch build lets the switch be read and set.</summary>
    public static bool Available => Probe.Value;

    /// <summary>oneDNN convolutions on (LibTorch's default) or off (its native im2col/GEMM kernels).</summary>
    public static bool Enabled
    {
        get => !Available || UserEnabledMkldnn(GlobalContext());
        set
        {
            if (Available) SetUserEnabledMkldnn(GlobalContext(), value);
            else if (!value) throw new PlatformNotSupportedException("This LibTorch build does not export the oneDNN switch (at::Context::setUserEnabledMkldnn).");
        }
    }
}
