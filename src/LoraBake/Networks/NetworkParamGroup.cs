using TorchSharp.Modules;

namespace LoraBake.Networks;

/// <summary>
/// A set of parameters sharing one learning rate (sd-scripts builds one for the text encoder's
/// modules and one for the UNet's). <see cref="BaseLr"/> is the configured LR; <see cref="Lr"/> is
/// what the next step uses (base × scheduler multiplier).
/// </summary>
public sealed class NetworkParamGroup
{
    public string Name { get; }
    public IReadOnlyList<Parameter> Params { get; }
    public double BaseLr { get; }
    public double Lr { get; set; }

    public NetworkParamGroup(string name, IEnumerable<Parameter> parameters, double baseLr)
    {
        Name = name;
        Params = parameters.ToList();
        BaseLr = baseLr;
        Lr = baseLr;
    }
}
