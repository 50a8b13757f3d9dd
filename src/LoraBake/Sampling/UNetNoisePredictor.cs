using LoraBake.Models.UNet;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>The SD UNet as the sampling loop's ε predictor: inputs are cast to the UNet's dtype, ε comes back float32.</summary>
public sealed class UNetNoisePredictor(UNet2DConditionModel unet) : INoisePredictor
{
    public Tensor PredictNoise(Tensor latents, Tensor timestep, Tensor context)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return unet.call(latents, timestep, context).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
