using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// max_grad_norm clipping. On the CPU: LibTorch's <c>clip_grad_norm_</c>, as always. Elsewhere the same
/// formula (total 2-norm of the per-tensor norms, coefficient max/(total + 1e-6) clamped to 1) computed on the
/// device, because LibTorch's C++ version reads the total norm back to the host, which a meta tensor cannot.
/// </summary>
public static class GradientClipping
{
    public static void ClipGradNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        var withGrad = parameters.Where(p => p.grad is not null).ToList();
        if (withGrad.Count == 0) return;
        if (withGrad[0].device_type == DeviceType.CPU) nn.utils.clip_grad_norm_(withGrad, maxNorm);
        else OnDevice(withGrad, maxNorm);
    }

    /// <summary>The clipping formula without a host read-back (public so tests compare it with LibTorch's on the CPU).</summary>
    public static void OnDevice(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var grads = parameters.Select(p => p.grad).OfType<Tensor>().ToList();
        var total = linalg.vector_norm(stack(grads.Select(g => linalg.vector_norm(g, 2)).ToArray()), 2);
        var coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
        foreach (var g in grads) g.mul_(coefficient);
    }
}
