using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LoraBake.Models;

/// <summary>
/// Gradient checkpointing, as kohya's <c>--gradient_checkpointing</c> (diffusers wraps each resnet and attention
/// block in <c>torch.utils.checkpoint</c>): the block's forward runs without keeping its activations, and
/// backward runs it again, with gradients on, to get them. Memory falls to about one block's activations plus the
/// block inputs; time rises by about one forward. TorchSharp has no <c>torch.utils.checkpoint</c>, so this is the
/// "reentrant" variant built on a custom autograd function.
/// </summary>
/// <remarks>
/// Adapters hook their target layers instead of being children of the block, so the block cannot list their
/// parameters. Backward therefore calls <c>backward()</c> on the recomputed output, which accumulates into every
/// leaf that takes part (the adapter weights), as PyTorch's reentrant checkpoint does, and returns only the input
/// gradients. A zero-size leaf that requires grad is passed along so the graph keeps this node even when no input
/// requires grad (the first block's input comes from frozen layers).
/// </remarks>
public static class GradientCheckpoint
{
    /// <summary>Runs <paramref name="compute"/> on <paramref name="inputs"/>, checkpointed when gradients are on.</summary>
    public static Tensor Run(Func<Tensor[], Tensor> compute, params Tensor[] inputs)
    {
        if (!is_grad_enabled()) return compute(inputs);
        using var anchor = empty(0, device: inputs[0].device, requires_grad: true);
        var vars = new object[inputs.Length + 2];
        vars[0] = compute;
        vars[1] = anchor;
        Array.Copy(inputs, 0, vars, 2, inputs.Length);
        return Numerics.AutogradNodes.Built(CheckpointFunction.apply(vars));
    }

    private sealed class CheckpointFunction : SingleTensorFunction<CheckpointFunction>
    {
        public override string Name => "GradientCheckpoint";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var compute = (Func<Tensor[], Tensor>)vars[0];
            var inputs = vars.Skip(2).Cast<Tensor>().ToArray();
            ctx.save_data("compute", compute);
            ctx.save_data("needs_grad", inputs.Select(i => i.requires_grad).ToArray());
            ctx.save_for_backward(inputs.ToList());
            var output = compute(inputs);               // apply() runs this with gradients off
            // An undefined incoming gradient means "zero": skip the recompute rather than have TorchSharp build zeros
            // from its cached output template (which is freed, see AutogradNodes).
            Numerics.AutogradNodes.Lean(ctx);
            return output;
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var compute = (Func<Tensor[], Tensor>)ctx.get_data("compute");
            var needsGrad = (bool[])ctx.get_data("needs_grad");
            var saved = ctx.get_saved_variables();
            var grads = new List<Tensor> { null!, null! };          // compute, anchor
            if (gradOutput is null || gradOutput.IsInvalid) return [.. grads, .. saved.Select(_ => (Tensor)null!)];
            using (var scope = NewDisposeScope())
            using (enable_grad())
            {
                var inputs = saved.Select((t, i) => t.detach().requires_grad_(needsGrad[i])).ToArray();
                var output = compute(inputs);
                // A block with no adapter inside and no input that needs a gradient has nothing to give.
                if (output.requires_grad) autograd.backward(output, gradOutput);
                foreach (var input in inputs) grads.Add(input.requires_grad ? input.grad?.MoveToOuterDisposeScope()! : null!);
            }
            return Numerics.AutogradNodes.Returning(grads, gradOutput);
        }
    }
}
