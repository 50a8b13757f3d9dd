using System.Globalization;
using LoraBake.Numerics;
using LoraBake.Runtime;

namespace LoraBake.Training;

/// <summary>
/// The error for a loss or gradient that stopped being finite, with the cause it points at. A loss that
/// was climbing before it broke is the learning rate (the guide's "overcooked"); one that breaks in the
/// first steps, or while steady, is the numbers — the CPU kernels, the model file or an input — and
/// lowering the learning rate would send the user the wrong way.
/// </summary>
public static class NonFiniteTraining
{
    public enum Pass { Forward, Backward }

    /// <param name="history">Every finite step loss so far in the run (earlier epochs included), oldest first.</param>
    /// <param name="module">The first adapter module whose gradient is not finite, when known.</param>
    public static UserError Error(Pass pass, double value, int epoch, int step, IReadOnlyList<double> history, string? module, double unetLr)
    {
        string what = pass == Pass.Forward
            ? $"the loss became {(double.IsNaN(value) ? "NaN" : "infinite")} in the forward pass"
            : $"the gradients became NaN or infinite in the backward pass{(module is null ? "" : $" (first at {module})")}";
        string where = $"at epoch {epoch} step {step}";
        string kept = "Every earlier epoch is kept.";
        if (Rising(history, out var from, out var to))
            return new UserError(string.Create(CultureInfo.InvariantCulture,
                $"overcooked: {what} {where}, after the loss rose from {from:0.####} to {to:0.####}: the learning rate is too high for this data. " +
                $"Lower unet_lr (now {unetLr:G3}) or repeats, or use an earlier epoch. {kept}"));

        var guard = NumericsGuard.Current;
        bool kernelsSuspect = guard.SelfTest?.Checks.Any(c => !c.Passed) == true || guard.Forced;
        string context = history.Count < 3
            ? $"only {history.Count} step(s) into the run"
            : string.Create(CultureInfo.InvariantCulture, $"while the loss was steady around {history.TakeLast(5).Average():0.####}");
        return new UserError(
            $"the numbers broke, not the learning: {what} {where}, {context}. That points at the CPU kernels, the model file or an input, " +
            $"not at the learning rate{(kernelsSuspect ? " — and this machine's numerics self-test found faulty kernels" : "")}. " +
            $"Run `lorabake doctor` ({guard.Summary}); to rule the kernels out, rerun with {ConvRoutes.EnvironmentVariable}=native. {kept}");
    }

    /// <summary>Whether the last few losses are clearly above the run's earlier ones.</summary>
    static bool Rising(IReadOnlyList<double> history, out double from, out double to)
    {
        from = to = double.NaN;
        if (history.Count < 6) return false;
        int window = Math.Min(5, history.Count / 2);
        from = history.Take(history.Count - window).Min();
        to = history.TakeLast(window).Average();
        return to > 1.25 * from;
    }
}
