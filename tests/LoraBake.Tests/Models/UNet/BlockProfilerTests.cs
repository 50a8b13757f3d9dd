using LoraBake.Models;
using LoraBake.Models.UNet;
using LoraBake.Training;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.UNet;

/// <summary>`bench model --profile`: where a training step's time goes, by block and by kind of op.</summary>
public class BlockProfilerTests
{
    [Fact]
    public void A_nested_op_is_counted_once_by_its_innermost_kind()
    {
        // A LoRA hook inside its linear layer, then a partly overlapping pair (backward of two ops the engine interleaves).
        var seconds = BlockProfiler.Exclusive([("linear", 0, 10), ("lora", 2, 5), ("conv", 20, 24), ("norm", 22, 26)]);
        Assert.Equal(7, seconds["linear"], 9);
        Assert.Equal(3, seconds["lora"], 9);
        Assert.Equal(2, seconds["conv"], 9);
        Assert.Equal(4, seconds["norm"], 9);
    }

    [Fact]
    public void The_profiled_step_times_every_kind_of_op_within_the_step()
    {
        var (blocks, ops, _, _, step) = ModelBenchmark.ProfileStep(TinySd1.UnetConfig(64), 8, ScalarType.Float32);
        Assert.NotEmpty(blocks);
        var kinds = ops.ToDictionary(o => o.Kind);
        foreach (var kind in new[] { BlockProfiler.Attention, BlockProfiler.Convolution, BlockProfiler.Linear, BlockProfiler.Norm, BlockProfiler.LoraHook })
        {
            Assert.True(kinds.TryGetValue(kind, out var row), $"no {kind} timed; got {string.Join(", ", kinds.Keys)}");
            Assert.True(row!.Forward > 0, $"{kind}: forward {row.Forward} s");
        }
        // The LoRA adapters train, so gradients pass the frozen layers they sit in.
        Assert.True(kinds[BlockProfiler.Linear].Backward > 0 && kinds[BlockProfiler.LoraHook].Backward > 0);
        Assert.True(kinds[BlockProfiler.Convolution].ForwardGflop > 0 && kinds[BlockProfiler.Attention].ForwardGflop > 0);
        Assert.Equal(0, kinds[BlockProfiler.Norm].ForwardGflop);
        // Exclusive times never add up to more than the step they were taken in.
        Assert.True(ops.Sum(o => o.Forward + o.Backward) <= step + 1e-6);
    }
}
