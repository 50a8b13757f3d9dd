using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// torch.cuda.amp.GradScaler's dynamic loss scaling, for fp16 frozen weights on CUDA: fp16 activation gradients
/// underflow to zero at SD's loss sizes, so the loss is multiplied by <see cref="Scale"/> before backward, the
/// gradients are divided by it before clipping and the step, and a step whose gradients hold inf/NaN is skipped
/// and the scale halved; after <see cref="GrowthInterval"/> clean steps in a row it doubles.
/// Defaults are GradScaler's (65536, ×2, ×0.5, 2000). bf16 needs none (its exponent is fp32's), nor does the CPU.
/// </summary>
public sealed class DynamicLossScaler(double initialScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000)
{
    public double Scale { get; private set; } = initialScale;
    public double GrowthFactor { get; } = growthFactor;
    public double BackoffFactor { get; } = backoffFactor;
    public int GrowthInterval { get; } = growthInterval;
    /// <summary>Clean steps since the scale last changed.</summary>
    public int CleanSteps { get; private set; }
    /// <summary>Steps skipped because the scaled gradients overflowed.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>Whether a run needs one: fp16 frozen weights on a CUDA device.</summary>
    public static bool Needed(Device device, ScalarType frozenDtype) =>
        device.type == DeviceType.CUDA && frozenDtype == ScalarType.Float16;

    public Tensor ScaleLoss(Tensor loss) => loss * Scale;

    /// <summary>
    /// Divides every gradient by the scale in place and updates the scale. Returns false when a gradient held
    /// inf or NaN: then the caller skips the optimizer step (and zeroes the gradients).
    /// </summary>
    public bool UnscaleAndUpdate(IEnumerable<Tensor> gradients)
    {
        bool finite = true;
        using (no_grad())
        {
            foreach (var g in gradients)
            {
                g.mul_(1.0 / Scale);
                // One host sync per gradient, as GradScaler's found_inf: a skipped step must be known before stepping.
                using var ok = g.isfinite().all();
                finite &= ok.item<bool>();
            }
        }
        Update(finite);
        return finite;
    }

    /// <summary>The scale after a step: halved on overflow, grown after enough clean steps.</summary>
    public void Update(bool finite)
    {
        if (!finite)
        {
            Scale *= BackoffFactor;
            CleanSteps = 0;
            SkippedSteps++;
            return;
        }
        if (++CleanSteps >= GrowthInterval)
        {
            Scale *= GrowthFactor;
            CleanSteps = 0;
        }
    }
}
