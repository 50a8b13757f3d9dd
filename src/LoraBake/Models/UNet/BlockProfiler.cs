using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LoraBake.Models.UNet;

/// <summary>
/// Where a UNet step spends its time, block by block and by kind of op, for <c>lorabake bench model --profile</c>.
/// While a profiler is active, every resnet and transformer block reports its forward time, and its backward time
/// from two markers: an identity on its output whose backward runs when the gradient reaches the block, and one on
/// its input whose backward runs when the gradient leaves it. The same markers time each op of a kind (attention,
/// convolution, linear, norm, LoRA hook); an op's time excludes the ops nested in it (a LoRA hook runs inside its
/// linear layer's call). CPU ops are synchronous, so wall time is the ops' time.
/// </summary>
public sealed class BlockProfiler : IDisposable
{
    [ThreadStatic] static BlockProfiler? active;
    readonly Dictionary<nn.Module, string> labels;
    readonly Dictionary<string, Times> times = new();
    readonly object gate = new();
    static readonly Stopwatch Clock = Stopwatch.StartNew();
    readonly List<OpEntry> ops = new();
    readonly List<Action> unhook = new();
    readonly Dictionary<nn.Module, Stack<OpEntry>> openLinears = new();

    public const string Attention = "attention (SDPA)", Convolution = "convolution", Linear = "linear (frozen)", Norm = "norm", LoraHook = "LoRA hook";

    /// <summary>One kind of op in one step: seconds in forward and backward (exclusive of nested ops), forward GFLOP.</summary>
    public sealed record OpRow(string Kind, double Forward, double Backward, double ForwardGflop);

    sealed class OpEntry(string kind)
    {
        public readonly string Kind = kind;
        public double ForwardStart, ForwardEnd = double.NaN, BackwardStart = double.NaN, BackwardEnd = double.NaN;
        public double Flops;
    }

    /// <summary>Seconds of one block in one step; backward is NaN when no gradient passed through the block.</summary>
    public sealed class Times
    {
        public double Forward;
        public double BackwardStart = double.NaN, BackwardEnd = double.NaN;
        public double Backward => BackwardEnd - BackwardStart;
    }

    /// <summary>Starts profiling <paramref name="unet"/>'s blocks on this thread until disposed.</summary>
    public BlockProfiler(UNet2DConditionModel unet)
    {
        labels = unet.named_modules().Where(m => m.module is ResnetBlock2D or Transformer2DModel)
            .ToDictionary(m => (nn.Module)m.module, m => m.name);
        // Linear layers are timed by hooks (registered after the network's, so a LoRA
        // hook runs inside the linear's interval and is subtracted from it).
        foreach (var (_, module) in unet.named_modules())
        {
            if (module is not GuardedLinear linear) continue;
            var pre = linear.register_forward_pre_hook((m, x) =>
            {
                if (!TimeOps) return x;
                var entry = Begin(Linear, ref x);
                lock (gate) { if (!openLinears.TryGetValue(m, out var open)) openLinears[m] = open = new(); open.Push(entry); }
                return x;
            });
            var post = linear.register_forward_hook((m, x, y) =>
            {
                if (!TimeOps) return y;
                OpEntry entry;
                lock (gate) entry = openLinears[m].Pop();
                entry.Flops = 2.0 * linear.weight.numel() * (x.numel() / x.shape[^1]);
                return End(entry, y);
            });
            unhook.Add(pre.remove);
            unhook.Add(post.remove);
        }
        active = this;
    }

    public void Dispose()
    {
        active = null;
        foreach (var remove in unhook) remove();
    }

    /// <summary>The blocks in forward order with their times (a block's entry is reset by each new step).</summary>
    public IReadOnlyList<(string Block, Times Times)> Results => times.Select(kv => (kv.Key, kv.Value)).ToList();

    public void Reset() { lock (gate) { times.Clear(); ops.Clear(); } }

    /// <summary>
    /// Whether ops are timed too. Their markers are many (two per op, several hundred ops in an SD1.5 step) and cost
    /// time of their own, so a step that times ops is slower than one that times blocks alone: run them apart.
    /// </summary>
    public bool TimeOps { get; set; }

    /// <summary>
    /// Runs one op of <paramref name="kind"/> on <paramref name="input"/> (its gradient path is the one marked),
    /// timed when a profiler is active; <paramref name="flops"/> counts its forward work from input and output.
    /// </summary>
    internal static Tensor Op(string kind, Tensor input, Func<Tensor, Tensor> body, Func<Tensor, Tensor, double>? flops = null)
    {
        if (active is not { TimeOps: true } profiler) return body(input);
        var entry = profiler.Begin(kind, ref input);
        var output = body(input);
        if (flops != null) entry.Flops = flops(input, output);
        return profiler.End(entry, output);
    }

    OpEntry Begin(string kind, ref Tensor input)
    {
        var entry = new OpEntry(kind);
        lock (gate) ops.Add(entry);
        if (is_grad_enabled() && input.requires_grad)
            input = Mark.apply(input, () => entry.BackwardEnd = Clock.Elapsed.TotalSeconds);
        entry.ForwardStart = Clock.Elapsed.TotalSeconds;
        return entry;
    }

    Tensor End(OpEntry entry, Tensor output)
    {
        entry.ForwardEnd = Clock.Elapsed.TotalSeconds;
        return is_grad_enabled() && output.requires_grad
            ? Mark.apply(output, () => entry.BackwardStart = Clock.Elapsed.TotalSeconds)
            : output;
    }

    /// <summary>
    /// Time per kind of op in the last step. Each instant of a phase belongs to the innermost op running then (the
    /// latest-started interval that covers it), so nested ops are not counted twice. An op whose input carried no
    /// gradient has no backward work (frozen weights) and counts none.
    /// </summary>
    public IReadOnlyList<OpRow> OpResults
    {
        get
        {
            List<OpEntry> all;
            lock (gate) all = ops.Where(o => !double.IsNaN(o.ForwardEnd)).ToList();
            var forward = Exclusive(all.Select(o => (o.Kind, o.ForwardStart, o.ForwardEnd)));
            var backward = Exclusive(all.Where(o => !double.IsNaN(o.BackwardStart) && !double.IsNaN(o.BackwardEnd) && o.BackwardEnd > o.BackwardStart)
                .Select(o => (o.Kind, o.BackwardStart, o.BackwardEnd)));
            return all.GroupBy(o => o.Kind).Select(g => new OpRow(g.Key, forward.GetValueOrDefault(g.Key), backward.GetValueOrDefault(g.Key),
                g.Sum(o => o.Flops) / 1e9)).OrderByDescending(r => r.Forward + r.Backward).ToList();
        }
    }

    internal static Dictionary<string, double> Exclusive(IEnumerable<(string Kind, double Start, double End)> intervals)
    {
        var list = intervals.ToList();
        var bounds = list.SelectMany(i => new[] { i.Start, i.End }).Distinct().Order().ToList();
        var seconds = new Dictionary<string, double>();
        for (int b = 0; b + 1 < bounds.Count; b++)
        {
            double from = bounds[b], to = bounds[b + 1];
            (string Kind, double Start, double End)? owner = null;
            foreach (var i in list)
                if (i.Start <= from && i.End >= to && (owner is null || i.Start > owner.Value.Start)) owner = i;
            if (owner is { } o) seconds[o.Kind] = seconds.GetValueOrDefault(o.Kind) + (to - from);
        }
        return seconds;
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="input"/>, timed when a profiler is active.</summary>
    internal static Tensor Run(nn.Module block, Tensor input, Func<Tensor, Tensor> body)
    {
        if (active is not { } profiler || !profiler.labels.TryGetValue(block, out var label)) return body(input);
        var entry = new Times();
        lock (profiler.gate) profiler.times[label] = entry;
        bool marks = is_grad_enabled() && input.requires_grad;
        if (marks) input = Mark.apply(input, () => entry.BackwardEnd = Clock.Elapsed.TotalSeconds);
        double start = Clock.Elapsed.TotalSeconds;
        var output = body(input);
        entry.Forward = Clock.Elapsed.TotalSeconds - start;
        return marks || output.requires_grad
            ? Mark.apply(output, () => entry.BackwardStart = Clock.Elapsed.TotalSeconds)
            : output;
    }

    /// <summary>Identity whose backward calls an action: a timestamp in the backward pass.</summary>
    private sealed class Mark : SingleTensorFunction<Mark>
    {
        public override string Name => "ProfileMark";

        /// <summary>The marked tensor. The node's output template is freed (<see cref="Numerics.AutogradNodes"/>): a mark
        /// per op input and output would otherwise hold a copy of each for the whole step.</summary>
        public static Tensor apply(Tensor input, Action action) => Numerics.AutogradNodes.Built(SingleTensorFunction<Mark>.apply(input, action));

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("action", vars[1]);
            Numerics.AutogradNodes.Lean(ctx);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            ((Action)ctx.get_data("action"))();
            // The incoming gradient passes through: it leaves the step's dispose scope with the returned ones.
            return Numerics.AutogradNodes.Returning([gradOutput is null || gradOutput.IsInvalid ? null! : gradOutput, null!], null);
        }
    }
}
