using System.Text.Json.Nodes;
using LoraBake.Networks;

namespace LoraBake.Training;

/// <summary>
/// What facebookresearch/dadaptation's optimizers share: one step size d for all parameters (so every group's LR
/// must be the same or 0), grown from d0 by a weighted numerator, and k, the steps that found a gradient.
/// Saved with the optimizer state so a resumed run continues the same estimate.
/// </summary>
public abstract class DAdaptationOptimizer : NetworkOptimizer
{
    public double D { get; protected set; }
    public double NumeratorWeighted { get; protected set; }
    public long K { get; protected set; }

    /// <param name="name">kohya's optimizer name, for errors ("DAdaptAdam").</param>
    protected DAdaptationOptimizer(IEnumerable<NetworkParamGroup> groups, string name, double d0)
        : base(groups)
    {
        if (!(d0 > 0)) throw new Runtime.UserError($"{name}: d0 must be > 0 (got {d0}); set it in optimizer_args.");
        if (ProdigyOptimizer.SharedLrError(name, Groups.Select(g => (g.Name, g.BaseLr))) is { } error) throw new Runtime.UserError(error);
        D = d0;
    }

    protected override JsonObject SaveScalars() => new() { ["d"] = D, ["numerator_weighted"] = NumeratorWeighted, ["k"] = K };

    protected override void LoadScalars(JsonObject scalars)
    {
        D = scalars["d"]!.GetValue<double>();
        NumeratorWeighted = scalars["numerator_weighted"]!.GetValue<double>();
        K = scalars["k"]!.GetValue<long>();
    }
}
