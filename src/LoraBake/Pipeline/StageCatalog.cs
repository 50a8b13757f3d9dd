using LoraBake.Recipes;

namespace LoraBake.Pipeline;

/// <summary>
/// The pipeline's shape: four slots in order — Download, Process, Train, Evaluate — each filled by a factory
/// that makes the slot's stages for a recipe (Train makes one stage per epoch). A slot nobody registered has
/// no stages (tests build catalogs of a few slots). Stages register in the CLI's PipelineStages (the composition
/// root), one line each.
/// </summary>
public sealed class StageCatalog
{
    public const string Download = "Download", Process = "Process", Train = "Train", Evaluate = "Evaluate";
    public static IReadOnlyList<string> Slots { get; } = [Download, Process, Train, Evaluate];

    private readonly Dictionary<string, Func<Recipe, IReadOnlyList<IStage>>> _factories = new(StringComparer.Ordinal);

    /// <summary>Fills a slot. The factory returns the slot's stages in order; the last one is what later slots depend on.</summary>
    public StageCatalog Register(string slot, Func<Recipe, IReadOnlyList<IStage>> factory)
    {
        if (!Slots.Contains(slot)) throw new ArgumentException($"unknown slot '{slot}'; slots are {string.Join(", ", Slots)}", nameof(slot));
        _factories[slot] = factory;
        return this;
    }

    public bool IsRegistered(string slot) => _factories.ContainsKey(slot);

    /// <summary>The stages of a recipe in run order, each with the slot it belongs to.</summary>
    public IReadOnlyList<(string Slot, IStage Stage)> StagesFor(Recipe recipe)
    {
        var list = new List<(string, IStage)>();
        foreach (var slot in Slots)
        {
            if (_factories.TryGetValue(slot, out var factory))
                list.AddRange(factory(recipe).Select(s => (slot, s)));
        }
        return list;
    }

    /// <summary>Train stage names: Train-Epoch-01 … Train-Epoch-NN (two digits at least, like NAME-01.safetensors).</summary>
    public static string EpochStageName(int epoch, int totalEpochs) =>
        "Train-Epoch-" + epoch.ToString(new string('0', Math.Max(2, totalEpochs.ToString(System.Globalization.CultureInfo.InvariantCulture).Length)), System.Globalization.CultureInfo.InvariantCulture);
}
