namespace LoraBake.Sampling;

internal static class SamplerChecks
{
    public static void StepIndex(int stepIndex, int steps)
    {
        if (steps == 0) throw new InvalidOperationException("call SetTimesteps before sampling");
        if (stepIndex < 0 || stepIndex >= steps)
            throw new ArgumentOutOfRangeException(nameof(stepIndex), stepIndex, $"step index must be in [0, {steps})");
    }
}
