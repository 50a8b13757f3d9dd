using LoraBake.Sampling;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>
/// The goldens' stand-in for the UNet: ε = 0.1·x + 0.2·cos(0.01·t)·c, in float32 and in the reference's order
/// (the scalar 0.2·cos(0.01·t) first). Elementwise, so a CFG batch of identical halves gives identical halves.
/// </summary>
internal sealed class FakeGoldenModel(Tensor c) : INoisePredictor
{
    public int Calls { get; private set; }
    public List<long[]> ContextShapes { get; } = [];

    public Tensor PredictNoise(Tensor latents, Tensor timestep, Tensor context)
    {
        Calls++;
        ContextShapes.Add(context.shape);
        using var scope = NewDisposeScope();
        var t = timestep.to(ScalarType.Float32).reshape(-1, 1, 1, 1);
        var k = 0.2f * cos(0.01f * t);
        return (0.1f * latents + k * c.to(latents.device)).MoveToOuterDisposeScope();
    }

    public static Tensor Eps(Tensor modelInput, float t, Tensor c)
    {
        using var scope = NewDisposeScope();
        var k = 0.2f * cos(0.01f * tensor(t));
        return (0.1f * modelInput + k * c).MoveToOuterDisposeScope();
    }
}
