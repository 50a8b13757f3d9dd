namespace LoraBake.Pipeline;

/// <summary>
/// How far a rebuild's float outputs may be from the lock's (estimated ‖Δ‖/‖x‖ of their sketches) when
/// they were computed in another numerics environment. Measured on the demo after 4 epochs across thread
/// counts and convolution routes (docs/cpu-numerics.md), with a margin; a real change — another learning
/// rate, seed or caption — moves them by far more.
/// </summary>
public static class VerifyTolerance
{
    public static double For(string sketchKind) => sketchKind switch
    {
        "tensors" => 5e-2,
        "pixels" => 5e-2,
        _ => 5e-2,
    };
}
