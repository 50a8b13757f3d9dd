using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>Random draws as diffusers' <c>randn_tensor</c> makes them: on the generator's device, then moved.</summary>
public static class SamplerNoise
{
    public static Tensor Randn(long[] shape, ScalarType dtype, Device device, Generator? generator)
    {
        var drawDevice = generator?.device ?? device;
        var noise = randn(shape, dtype: dtype, device: drawDevice, generator: generator);
        if (drawDevice.type == device.type && drawDevice.index == device.index) return noise;
        using (noise) return noise.to(device);
    }
}
