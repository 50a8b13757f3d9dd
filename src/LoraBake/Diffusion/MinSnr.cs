using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Diffusion;

/// <summary>
/// Min-SNR-γ loss weighting (Hang et al. 2023) as kohya's <c>apply_snr_weight</c>: per-sample weight
/// min(SNR, γ)/SNR for ε-prediction and min(SNR, γ)/(SNR+1) for v-prediction, SNR = ᾱ/(1−ᾱ).
/// </summary>
public static class MinSnr
{
    /// <summary>Weights [B] (float32, on the timesteps' device) for integer <paramref name="timesteps"/> [B] of the SD 1.x schedule.</summary>
    public static Tensor Weights(Tensor timesteps, double gamma, bool vPrediction = false) =>
        Weights(NoiseSchedule.StableDiffusion, timesteps, gamma, vPrediction);

    public static Tensor Weights(NoiseSchedule schedule, Tensor timesteps, double gamma, bool vPrediction = false)
    {
        if (!(gamma > 0)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "min_snr_gamma must be positive");
        using var scope = NewDisposeScope();
        var allSnr = tensor(schedule.Snr.ToArray(), device: timesteps.device);
        var index = timesteps.to(ScalarType.Int64).flatten();
        var snr = MetaKernels.IsMeta(index) ? MetaKernels.IndexSelect0(allSnr, index) : allSnr.index_select(0, index);
        var minSnrGamma = minimum(snr, full_like(snr, gamma));
        var weight = vPrediction ? minSnrGamma / (snr + 1) : minSnrGamma / snr;
        return weight.MoveToOuterDisposeScope();
    }
}
