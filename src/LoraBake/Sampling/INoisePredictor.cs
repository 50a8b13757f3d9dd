using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// The denoising model as the sampling loop sees it (the SD UNet, with or without a network applied):
/// ε̂ = f(latents [N,4,h,w], timestep [N] float32, context [N,tokens,dim]). Returns a new tensor the caller owns.
/// </summary>
public interface INoisePredictor
{
    Tensor PredictNoise(Tensor latents, Tensor timestep, Tensor context);
}
