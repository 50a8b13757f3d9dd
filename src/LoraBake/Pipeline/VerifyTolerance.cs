namespace LoraBake.Pipeline;

/// <summary>
/// How far a rebuild's float outputs may be from the lock's (estimated ‖Δ‖/‖x‖ of their sketches) when they
/// were computed in another numerics environment. Measured on the demo (4 epochs, then the grid) on an AMD EPYC
/// of family 26, rebuilding with 1 thread instead of 2 and with the native route instead of the guarded one:
/// epoch tensors ≤ 6.9e-7, the fp16 export ≤ 5.3e-6, Evaluate's images and numbers ≤ 1.9e-5
/// (docs/cpu-numerics.md). The bounds leave a margin of 50× or more for other CPUs; another learning rate,
/// seed or caption moves the tensors by far more.
/// </summary>
public static class VerifyTolerance
{
    public static double For(string sketchKind) => sketchKind switch
    {
        "pixels" => 5e-3,   // 8-bit pixels: a rounding flip moves a whole level
        _ => 1e-3,          // tensors, and the numbers of text outputs (loss.csv, evaluation.json)
    };
}
