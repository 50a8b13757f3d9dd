using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LoraBake.Models.UNet;

/// <summary>
/// Where a UNet step spends its time, block by block, for <c>lorabake bench model --profile</c>. While a profiler is
/// active, every resnet and transformer block reports its forward time, and its backward time from two markers:
/// an identity on its output whose backward runs when the gradient reaches the block, and one on its input whose
/// backward runs when the gradient leaves it. CPU ops are synchronous, so wall time is the ops' time.
/// </summary>
public sealed class BlockProfiler : IDisposable
{
    [ThreadStatic] static BlockProfiler? active;
    readonly Dictionary<nn.Module, string> labels;
    readonly Dictionary<string, Times> times = new();
    readonly object gate = new();
    static readonly Stopwatch Clock = Stopwatch.StartNew();

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
        active = this;
    }

    public void Dispose() => active = null;

    /// <summary>The blocks in forward order with their times (a block's entry is reset by each new step).</summary>
    public IReadOnlyList<(string Block, Times Times)> Results => times.Select(kv => (kv.Key, kv.Value)).ToList();

    public void Reset() { lock (gate) times.Clear(); }

    /// <summary>Runs <paramref name="body"/> on <paramref name="input"/>, timed when a profiler is active.</summary>
    internal static Tensor Run(nn.Module block, Tensor input, Func<Tensor, Tensor> body)
    {
        if (active is not { } profiler || !profiler.labels.TryGetValue(block, out var label)) return body(input);
        var entry = new Times();
        lock (profiler.gate) profiler.times[label] = entry;
        bool marks = is_grad_enabled() && input.requires_grad;
        if (marks) input = Mark.apply(input, (Action)(() => entry.BackwardEnd = Clock.Elapsed.TotalSeconds));
        double start = Clock.Elapsed.TotalSeconds;
        var output = body(input);
        entry.Forward = Clock.Elapsed.TotalSeconds - start;
        return marks || output.requires_grad
            ? Mark.apply(output, (Action)(() => entry.BackwardStart = Clock.Elapsed.TotalSeconds))
            : output;
    }

    /// <summary>Identity whose backward calls an action: a timestamp in the backward pass.</summary>
    private sealed class Mark : SingleTensorFunction<Mark>
    {
        public override string Name => "ProfileMark";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("action", vars[1]);
            return ((Tensor)vars[0]).alias();
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            ((Action)ctx.get_data("action"))();
            return [gradOutput, null!];
        }
    }
}
