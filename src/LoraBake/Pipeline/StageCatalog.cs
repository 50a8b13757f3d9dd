using LoraBake.Recipes;

namespace LoraBake.Pipeline;

/// <summary>
/// The pipeline's shape: four slots in order — Download, Process, Train, Evaluate — each filled by a factory
/// that makes the slot's stages for a recipe (Train makes one stage per epoch). A slot nobody registered is
/// planned as placeholder stages marked "not available yet", so the plan still shows the whole pipeline.
/// Stages register in the CLI's PipelineStages (the composition root), one line each.
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
            var stages = _factories.TryGetValue(slot, out var f) ? f(recipe) : Placeholders(slot, recipe, list);
            list.AddRange(stages.Select(s => (slot, s)));
        }
        return list;
    }

    /// <summary>Train stage names: Train-Epoch-01 … Train-Epoch-NN (two digits at least, like NAME-01.safetensors).</summary>
    public static string EpochStageName(int epoch, int totalEpochs) =>
        "Train-Epoch-" + epoch.ToString(new string('0', Math.Max(2, totalEpochs.ToString(System.Globalization.CultureInfo.InvariantCulture).Length)), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Epoch count used to name placeholder Train stages before the Train stage exists.</summary>
    public Func<Recipe, int?> EpochCount { get; set; } = r => r.Training.PreferredUnit == PreferredUnit.Epochs ? r.Training.HowMany : null;

    private IReadOnlyList<IStage> Placeholders(string slot, Recipe recipe, List<(string Slot, IStage Stage)> before) => slot switch
    {
        Download => [new UnavailableStage(Download, [])],
        Process => [new UnavailableStage(Process, [Download])],
        Train => EpochCount(recipe) is int n and > 0
            ? Enumerable.Range(1, n).Select(e => (IStage)new UnavailableStage(EpochStageName(e, n),
                e == 1 ? [Download, Process] : [EpochStageName(e - 1, n)])).ToList()
            : [new UnavailableStage("Train-Epochs", [Download, Process])],
        _ => [new UnavailableStage(Evaluate, before.Where(b => b.Slot == Train).Select(b => b.Stage.Name).ToList())],
    };
}

/// <summary>A stage this version of LoraBake does not have yet: planned and shown, never run.</summary>
public sealed class UnavailableStage(string name, IReadOnlyList<string> dependsOn) : IStage
{
    public string Name { get; } = name;
    public int SchemaVersion => 0;
    public IReadOnlyList<string> DependsOn { get; } = dependsOn;
    public Fingerprint ComputeFingerprint(StageContext context) => throw new NotSupportedException();
    public void Run(StageContext context, EntryWriter output) => throw new NotSupportedException();
}
