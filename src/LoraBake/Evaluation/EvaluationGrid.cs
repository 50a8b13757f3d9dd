using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>
/// The X/Y/Z grid an `evaluation:` section describes, resolved against the saved epochs: its axes and every
/// cell, in webui's order (cell index = x + y·|X| + z·|X|·|Y|).
/// Defaults: X = Epoch (evaluation.epochs), Y = Weight (evaluation.weights), Z = Prompt when there is more
/// than one prompt. `x_axis`/`y_axis`/`z_axis` put another axis in that slot; kinds they leave out fill the
/// free slots in that order. The Epoch axis always starts with a baseline value (no LoRA). When Weight is on
/// no axis, cells use the largest of evaluation.weights; when Seed is on no axis, each cell renders all seeds.
/// </summary>
public sealed class EvaluationGrid
{
    public const string TriggerPlaceholder = "[trigger]";
    public const string BaselineLabel = "Baseline (no LoRA)";

    public GridAxis X { get; }
    public GridAxis Y { get; }
    public GridAxis Z { get; }
    public IReadOnlyList<GridCell> Cells { get; }

    EvaluationGrid(GridAxis x, GridAxis y, GridAxis z, IReadOnlyList<GridCell> cells) => (X, Y, Z, Cells) = (x, y, z, cells);

    public GridCell At(int x, int y, int z) => Cells[x + y * X.Count + z * X.Count * Y.Count];

    /// <summary>Every distinct render of the grid (the baseline shared by all rows counts once).</summary>
    public IReadOnlyList<RenderRequest> DistinctRenders() => Cells.SelectMany(c => c.Renders()).Distinct().ToList();

    /// <param name="availableEpochs">The epochs saved in output/NAME/.</param>
    /// <param name="trigger">The activation tags that replace `[trigger]` in prompts.</param>
    public static EvaluationGrid Build(EvaluationSettings s, IReadOnlyList<int> availableEpochs, string trigger)
    {
        Validate(s);
        var specs = new AxisSpec?[]
        {
            s.XAxis is { } xa && xa.Trim().Length > 0 ? AxisParser.ParseAxis(xa, "evaluation.x_axis") : null,
            s.YAxis is { } ya && ya.Trim().Length > 0 ? AxisParser.ParseAxis(ya, "evaluation.y_axis") : null,
            s.ZAxis is { } za && za.Trim().Length > 0 ? AxisParser.ParseAxis(za, "evaluation.z_axis") : null,
        };
        for (var i = 0; i < 3; i++)
            for (var j = 0; j < i; j++)
                if (specs[i] is { } a && specs[j] is { } b && a.Kind == b.Kind)
                    throw new UserError($"{a.Key} and {b.Key} both use the {AxisSpec.KindName(a.Kind)} axis; give each axis a different type.");

        var defaults = new List<AxisSpec> { new(AxisKind.Epoch, s.Epochs, "evaluation.epochs"), new(AxisKind.Weight, "", "evaluation.weights") };
        if (s.Prompts.Count > 1) defaults.Add(new AxisSpec(AxisKind.Prompt, "", "evaluation.prompts"));
        var queue = new Queue<AxisSpec>(defaults.Where(d => specs.All(sp => sp?.Kind != d.Kind)));
        for (var i = 0; i < 3 && queue.Count > 0; i++) specs[i] ??= queue.Dequeue();

        var kinds = specs.Where(sp => sp is not null).Select(sp => sp!.Kind).ToHashSet();
        if (!kinds.Contains(AxisKind.Epoch))
            throw new UserError("evaluation: x_axis, y_axis and z_axis leave no room for the Epoch axis; keep one of them free or set one to \"Epoch: all\".");
        if (!kinds.Contains(AxisKind.Prompt) && s.Prompts.Count > 1)
            throw new UserError($"evaluation.prompts has {s.Prompts.Count} prompts but no axis shows them; set an axis to \"Prompt\" or keep one prompt.");

        var prompts = s.Prompts.Select(p => ApplyTrigger(p, trigger)).ToList();
        var negative = ApplyTrigger(s.NegativePrompt, trigger);
        var axes = specs.Select(sp => sp is null ? Single() : Resolve(sp, s, availableEpochs, trigger, prompts, negative)).ToArray();
        var (x, y, z) = (axes[0], axes[1], axes[2]);

        var fixedWeight = s.Weights.Max();
        var cells = new List<GridCell>(x.Count * y.Count * z.Count);
        for (var iz = 0; iz < z.Count; iz++)
            for (var iy = 0; iy < y.Count; iy++)
                for (var ix = 0; ix < x.Count; ix++)
                {
                    AxisValue[] vs = [x.Values[ix], y.Values[iy], z.Values[iz]];
                    var epochValue = vs[Array.FindIndex(axes, a => a.Kind == AxisKind.Epoch)];
                    var weight = Pick(axes, vs, AxisKind.Weight, v => v.Weight) ?? fixedWeight;
                    var promptIndex = Pick(axes, vs, AxisKind.Prompt, v => v.PromptIndex) ?? 0;
                    var seed = Pick(axes, vs, AxisKind.Seed, v => v.Seed);
                    var prompt = prompts[promptIndex];
                    var neg = negative;
                    var sr = Array.FindIndex(axes, a => a.Kind == AxisKind.PromptSR);
                    if (sr >= 0)
                    {
                        var search = axes[sr].Search!;
                        var replacement = vs[sr].Replacement!;
                        prompt = prompt.Replace(search, replacement, StringComparison.Ordinal);
                        neg = neg.Replace(search, replacement, StringComparison.Ordinal);
                    }
                    cells.Add(new GridCell
                    {
                        X = ix, Y = iy, Z = iz,
                        Epoch = epochValue.IsBaseline ? null : epochValue.Epoch,
                        Weight = weight,
                        PromptIndex = promptIndex,
                        Prompt = prompt,
                        NegativePrompt = neg,
                        Seeds = seed is { } one ? [one] : s.Seeds.ToList(),
                        Sampler = s.Sampler, Steps = s.Steps, Cfg = s.Cfg, Width = s.Width, Height = s.Height,
                    });
                }
        return new EvaluationGrid(x, y, z, cells);
    }

    /// <summary>Replaces `[trigger]`; with no trigger text, the commas it leaves at the ends are trimmed.</summary>
    public static string ApplyTrigger(string text, string trigger)
    {
        var r = text.Replace(TriggerPlaceholder, trigger, StringComparison.Ordinal);
        return trigger.Length == 0 ? r.Trim().Trim(',').Trim() : r;
    }

    static T? Pick<T>(GridAxis[] axes, AxisValue[] vs, AxisKind kind, Func<AxisValue, T?> get) where T : struct
    {
        var i = Array.FindIndex(axes, a => a.Kind == kind);
        return i < 0 ? null : get(vs[i]);
    }

    static GridAxis Single() => new(null, [new AxisValue { Label = "" }]);

    static GridAxis Resolve(AxisSpec sp, EvaluationSettings s, IReadOnlyList<int> available, string trigger,
        IReadOnlyList<string> prompts, string negative)
    {
        switch (sp.Kind)
        {
            case AxisKind.Epoch:
            {
                var epochs = EpochSelection.Select(sp.ValuesText, available, sp.Key);
                var values = new List<AxisValue> { new() { Label = BaselineLabel, IsBaseline = true } };
                values.AddRange(epochs.Select(e => new AxisValue { Label = $"Epoch: {e}", Epoch = e }));
                return new GridAxis(AxisKind.Epoch, values);
            }
            case AxisKind.Weight:
            {
                var weights = sp.ValuesText.Trim().Length == 0 ? s.Weights : AxisParser.ExpandDoubles(sp.ValuesText, sp.Key);
                if (weights.Count == 0) throw new UserError($"{sp.Key}: no weights given; write e.g. \"Weight: 0.5-1 (+0.1)\".");
                return new GridAxis(AxisKind.Weight, weights.Select(w => new AxisValue { Label = $"Weight: {PyNumber.Float(w)}", Weight = w }).ToList());
            }
            case AxisKind.Prompt:
            {
                // "Prompt" takes the recipe's prompts; values, if given, pick them by 1-based number.
                IReadOnlyList<int> idx = sp.ValuesText.Trim().Length == 0
                    ? Enumerable.Range(0, prompts.Count).ToList()
                    : AxisParser.ExpandInts(sp.ValuesText, sp.Key).Select(n => n is >= 1 && n <= int.MaxValue && n <= prompts.Count ? (int)n - 1
                        : throw new UserError($"{sp.Key}: prompt number {n} does not exist; evaluation.prompts has {prompts.Count} (numbered from 1).")).ToList();
                return new GridAxis(AxisKind.Prompt, idx.Select(i => new AxisValue { Label = prompts[i], PromptIndex = i }).ToList());
            }
            case AxisKind.Seed:
            {
                var seeds = AxisParser.ExpandInts(sp.ValuesText, sp.Key);
                if (seeds.Count == 0) throw new UserError($"{sp.Key}: no seeds given; write e.g. \"Seed: 1-4\".");
                return new GridAxis(AxisKind.Seed, seeds.Select(x => new AxisValue { Label = $"Seed: {x}", Seed = x }).ToList());
            }
            case AxisKind.PromptSR:
            {
                var raw = AxisParser.SplitCsv(sp.ValuesText, sp.Key);
                if (raw.Count == 0) throw new UserError($"{sp.Key}: Prompt S/R needs values; the first is searched for, e.g. \"Prompt S/R: red, blue, green\".");
                // `[trigger]` in S/R values means the trigger too, so "Prompt S/R: [trigger], other" works.
                var vals = raw.Select(v => v.Replace(TriggerPlaceholder, trigger, StringComparison.Ordinal)).ToList();
                var search = vals[0];
                foreach (var p in prompts)
                    if (search.Length == 0 || (!p.Contains(search, StringComparison.Ordinal) && !negative.Contains(search, StringComparison.Ordinal)))
                        throw new UserError($"{sp.Key}: Prompt S/R did not find \"{search}\" in the prompt \"{p}\" or in evaluation.negative_prompt. "
                            + "The first value is the text to search for; it must appear in every prompt or in the negative prompt.");
                return new GridAxis(AxisKind.PromptSR, raw.Select((r, i) => new AxisValue { Label = r, Replacement = vals[i] }).ToList(), search);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(sp));
        }
    }

    static void Validate(EvaluationSettings s)
    {
        if (s.Prompts.Count == 0) throw new UserError("evaluation.prompts is empty; give at least one prompt (\"[trigger]\" stands for the activation tags).");
        if (s.Seeds.Count == 0) throw new UserError("evaluation.seeds is empty; give at least one seed, e.g. [1, 2].");
        if (s.Weights.Count == 0) throw new UserError("evaluation.weights is empty; give at least one weight, e.g. [0.8, 1.0].");
        if (s.Steps < 1) throw new UserError($"evaluation.steps is {s.Steps}; it must be at least 1.");
        if (s.Width < 8 || s.Height < 8 || s.Width % 8 != 0 || s.Height % 8 != 0)
            throw new UserError($"evaluation.width/height are {s.Width}×{s.Height}; both must be positive multiples of 8 (SD's latent is 1/8 size).");
    }
}
