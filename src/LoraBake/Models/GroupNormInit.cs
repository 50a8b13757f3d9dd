using static TorchSharp.torch;

namespace LoraBake.Models;

/// <summary>
/// TorchSharp 0.107 leaves nn.GroupNorm's affine parameters uninitialised (PyTorch starts them at 1 and 0), so a
/// freshly built model can compute NaN. Loading weights overwrites them; models built from scratch (the built-in
/// tiny model, benchmarks) call this first.
/// </summary>
public static class GroupNormInit
{
    public static void Reset(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            if (m is TorchSharp.Modules.GroupNorm g)
            {
                g.weight?.fill_(1);
                g.bias?.fill_(0);
            }
        }
    }
}
