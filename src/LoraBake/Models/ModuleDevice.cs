using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>Where a model runs: the device of its parameters. Inputs the callers make (noise, ids, images) go there.</summary>
public static class ModuleDevice
{
    public static Device ParameterDevice(this nn.Module module) =>
        module.parameters().FirstOrDefault()?.device ?? CPU;
}
