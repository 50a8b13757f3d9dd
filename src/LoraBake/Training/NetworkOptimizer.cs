using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using LoraBake.Networks;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Base of our optimizers: fp32 parameters in named groups, per-parameter state tensors and step
/// counters, and an exact save/load of all of it for resume. Groups whose LR is 0 are dropped at
/// construction, as sd-scripts' <c>prepare_optimizer_params</c> does, so they are never stepped.
/// </summary>
public abstract class NetworkOptimizer : IDisposable
{
    public IReadOnlyList<NetworkParamGroup> Groups { get; }

    /// <summary>kohya's optimizer string for <c>ss_optimizer</c>, e.g. <c>torch.optim.adamw.AdamWOptimizer(weight_decay=0.1)</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Per parameter (group index, param index): named state tensors.</summary>
    protected readonly Dictionary<(int Group, int Param), Dictionary<string, Tensor>> State = new();
    /// <summary>Per parameter: number of updates it has received (torch's <c>state['step']</c>).</summary>
    protected readonly Dictionary<(int Group, int Param), long> Steps = new();

    protected NetworkOptimizer(IEnumerable<NetworkParamGroup> groups)
    {
        Groups = groups.Where(g => g.BaseLr != 0.0 && g.Params.Count > 0).ToList();
    }

    /// <summary>Sets every group's LR to its base LR × <paramref name="multiplier"/> (one scheduler step).</summary>
    public void SetLrMultiplier(double multiplier)
    {
        foreach (var g in Groups) g.Lr = g.BaseLr * multiplier;
    }

    public void ZeroGrad()
    {
        foreach (var g in Groups)
            foreach (var p in g.Params)
            {
                var grad = p.grad;
                if (grad is null) continue;
                using (no_grad()) grad.zero_();
            }
    }

    /// <summary>One update of every parameter that has a gradient.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCore();
    }

    protected abstract void StepCore();

    /// <summary>One parameter that has a gradient this step, with its place in <see cref="Groups"/>.</summary>
    protected readonly record struct ParamSlot(int GroupIndex, int ParamIndex, NetworkParamGroup Group, Parameter P, Tensor Grad)
    {
        public (int Group, int Param) Key => (GroupIndex, ParamIndex);
    }

    /// <summary>
    /// Every parameter that has a gradient, group by group in order: the loop each optimizer's update runs in.
    /// Parameters without a gradient are skipped, as torch's optimizers do.
    /// </summary>
    protected IEnumerable<ParamSlot> ParamsWithGrad()
    {
        for (int gi = 0; gi < Groups.Count; gi++)
        {
            var group = Groups[gi];
            for (int pi = 0; pi < group.Params.Count; pi++)
            {
                var p = group.Params[pi];
                var grad = p.grad;
                if (grad is null) continue;
                yield return new ParamSlot(gi, pi, group, p, grad);
            }
        }
    }

    /// <summary>Counts one more update of the parameter and returns its step number (1 on the first).</summary>
    protected long NextStep(ParamSlot slot)
    {
        long step = Steps.GetValueOrDefault(slot.Key) + 1;
        Steps[slot.Key] = step;
        return step;
    }

    /// <summary>The state tensor <paramref name="name"/> of a parameter, created as zeros shaped like it on first use.</summary>
    protected Tensor StateTensor(ParamSlot slot, string name) => StateTensor(slot, name, () => zeros_like(slot.P));

    /// <summary>The state tensor <paramref name="name"/> of a parameter, made by <paramref name="create"/> on first use.</summary>
    protected Tensor StateTensor(ParamSlot slot, string name, Func<Tensor> create)
    {
        if (!State.TryGetValue(slot.Key, out var dict)) State[slot.Key] = dict = new Dictionary<string, Tensor>();
        if (!dict.TryGetValue(name, out var t))
        {
            t = create().detach();
            // Kept beyond the step's dispose scope: it lives as long as the optimizer.
            t.DetachFromDisposeScope();
            dict[name] = t;
        }
        return t;
    }

    protected bool HasState(ParamSlot slot) => State.ContainsKey(slot.Key);

    /// <summary>Scalars beyond per-parameter steps (Prodigy's d estimate); JSON object, may be empty.</summary>
    protected virtual JsonObject SaveScalars() => new();
    protected virtual void LoadScalars(JsonObject scalars) { }

    /// <summary>
    /// Every state tensor (keys <c>state.{group}.{param}.{name}</c>, cloned) and a JSON of the step
    /// counters and scalars. Doubles go through JSON's round-trip format, so a reload is bit-identical.
    /// </summary>
    public (Dictionary<string, Tensor> Tensors, string Json) SaveState()
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var ((g, p), dict) in State)
            foreach (var (name, t) in dict)
            {
                var copy = t.detach().clone();
                copy.DetachFromDisposeScope();
                tensors[$"state.{g}.{p}.{name}"] = copy;
            }
        var steps = new JsonObject();
        foreach (var ((g, p), n) in Steps) steps[$"{g}.{p}"] = n;
        var lrs = new JsonArray(Groups.Select(gr => (JsonNode)JsonValue.Create(gr.Lr)!).ToArray());
        var root = new JsonObject
        {
            ["optimizer"] = GetType().Name,
            ["steps"] = steps,
            ["group_lrs"] = lrs,
            ["scalars"] = SaveScalars(),
        };
        return (tensors, root.ToJsonString());
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, string json)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        var kind = (string?)root["optimizer"];
        if (kind != GetType().Name)
            throw new Runtime.UserError($"The saved optimizer state is for {kind}, but this run uses {GetType().Name}: " +
                                        "each epoch continues the previous one's optimizer, so every epoch needs the same training.optimizer; " +
                                        "rebuild every epoch with ./build.sh --target=Train --force=Train.");
        foreach (var dict in State.Values) foreach (var t in dict.Values) t.Dispose();
        State.Clear();
        Steps.Clear();
        foreach (var (key, t) in tensors)
        {
            var parts = key.Split('.', 4);
            if (parts.Length != 4 || parts[0] != "state") throw new FormatException($"Unexpected optimizer state key '{key}'.");
            int g = int.Parse(parts[1]), p = int.Parse(parts[2]);
            if (g >= Groups.Count || p >= Groups[g].Params.Count)
                throw new Runtime.UserError($"The saved optimizer state has parameter {g}.{p}, which this network does not have: " +
                                            "the network's dim or modules changed since the state was saved.");
            var copy = t.detach().clone().to(Groups[g].Params[p].device);
            copy.DetachFromDisposeScope();
            if (!State.TryGetValue((g, p), out var dict)) State[(g, p)] = dict = new Dictionary<string, Tensor>();
            dict[parts[3]] = copy;
        }
        foreach (var (key, n) in root["steps"]!.AsObject())
        {
            var parts = key.Split('.');
            Steps[(int.Parse(parts[0]), int.Parse(parts[1]))] = n!.GetValue<long>();
        }
        var lrs = root["group_lrs"]!.AsArray();
        for (int i = 0; i < Math.Min(lrs.Count, Groups.Count); i++) Groups[i].Lr = lrs[i]!.GetValue<double>();
        LoadScalars(root["scalars"]!.AsObject());
    }

    public void Dispose()
    {
        foreach (var dict in State.Values) foreach (var t in dict.Values) t.Dispose();
        State.Clear();
        GC.SuppressFinalize(this);
    }
}
