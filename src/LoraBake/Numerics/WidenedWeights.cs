using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LoraBake.Numerics;

/// <summary>
/// Frozen weights held narrower than the math (bf16 storage, fp32 products: where this CPU's bf16 kernels are wrong,
/// the model still takes half the memory). Each layer widens its weight for its own product and drops the copy.
/// Plain autograd would keep every widened copy alive until backward (the product saves its weight for the input
/// gradient), which is the fp32 model's memory again; these functions save the narrow weight instead and widen it
/// once more in backward. They give no gradient to the weight: only frozen weights come here.
/// </summary>
public static class WidenedWeights
{
    /// <summary><c>x·Wᵀ + b</c> in <paramref name="x"/>'s dtype, whatever dtype <paramref name="weight"/> is held in.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (weight.dtype == x.dtype && (bias is null || bias.dtype == x.dtype)) return nn.functional.linear(x, weight, bias);
        if (!SavesNarrowWeight(x, weight, bias)) return nn.functional.linear(x, weight.to(x.dtype), bias?.to(x.dtype));
        return AutogradNodes.Built(bias is null ? WidenedLinearFunction.apply(x, weight) : WidenedLinearFunction.apply(x, weight, bias));
    }

    /// <summary><c>W·columns</c> ([outC, K] by [n, K, L]) in the columns' dtype: the unfolded convolution's product.</summary>
    public static Tensor MatMul(Tensor weight2d, Tensor columns)
    {
        if (weight2d.dtype == columns.dtype) return weight2d.matmul(columns);
        if (!SavesNarrowWeight(columns, weight2d, null)) return weight2d.to(columns.dtype).matmul(columns);
        return AutogradNodes.Built(WidenedMatMulFunction.apply(weight2d, columns));
    }

    /// <summary>
    /// Whether autograd would save a widened copy: only when the input needs a gradient and the weight does not (a
    /// weight that trains widens through <c>to()</c>, which hands its gradient back in the weight's dtype).
    /// </summary>
    public static bool SavesNarrowWeight(Tensor input, Tensor weight, Tensor? bias) =>
        is_grad_enabled() && input.requires_grad && !weight.requires_grad && bias?.requires_grad != true;

    sealed class WidenedLinearFunction : SingleTensorFunction<WidenedLinearFunction>
    {
        public override string Name => "WidenedLinear";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var bias = vars.Length > 2 ? (Tensor)vars[2] : null;
            ctx.save_for_backward([weight]);        // the narrow weight itself (a view at most): no copy is kept
            AutogradNodes.Lean(ctx);
            ctx.save_data("inputs", vars.Length);
            using var scope = NewDisposeScope();
            return nn.functional.linear(x, weight.to(x.dtype), bias?.to(x.dtype)).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var grads = new List<Tensor> { null! };
            for (int i = 1; i < (int)ctx.get_data("inputs"); i++) grads.Add(null!);
            if (gradOutput is null || gradOutput.IsInvalid) return grads;
            using (var scope = NewDisposeScope())
                grads[0] = gradOutput.matmul(ctx.get_saved_variables()[0].to(gradOutput.dtype)).MoveToOuterDisposeScope();
            return AutogradNodes.Returning(grads, gradOutput);
        }
    }

    sealed class WidenedMatMulFunction : SingleTensorFunction<WidenedMatMulFunction>
    {
        public override string Name => "WidenedMatMul";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var weight = (Tensor)vars[0];
            var columns = (Tensor)vars[1];
            ctx.save_for_backward([weight]);
            AutogradNodes.Lean(ctx);
            using var scope = NewDisposeScope();
            return weight.to(columns.dtype).matmul(columns).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            if (gradOutput is null || gradOutput.IsInvalid) return [null!, null!];
            Tensor gradColumns;
            using (var scope = NewDisposeScope())
                gradColumns = ctx.get_saved_variables()[0].to(gradOutput.dtype).t().matmul(gradOutput).MoveToOuterDisposeScope();
            return AutogradNodes.Returning([null!, gradColumns], gradOutput);
        }
    }
}
