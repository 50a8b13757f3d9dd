using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LoraBake.Numerics;

/// <summary>
/// An unfolded convolution with a frozen weight whose input gradient is itself a convolution: the output gradient
/// convolved with the kernel flipped and its channels swapped, one matrix product over every kernel tap. Autograd's
/// own route takes the columns' gradient and folds it back with kh·kw strided adds, each rounded to the math's dtype:
/// in bf16 that is nine roundings where the product accumulates all taps in fp32. At SD1.5's 3×3 convolutions in
/// bf16 the input gradient's largest error against fp64 fell 0.050 → 0.016 (320 → 320 channels, 64×64), and a whole
/// bf16 step's LoRA gradients came 12 % closer to fp64's (relative error 1.09 % → 0.96 %, a 64/128-channel UNet at
/// 64×64; 2-core AMD EPYC fam. 26). The forward is the unfolded product itself, bit for bit.
/// Used where the math is half precision; fp32 keeps autograd's route (its error is small, and its bits are the
/// committed locks').
/// </summary>
public static class FrozenConv
{
    /// <summary>Whether <see cref="Conv2d"/> takes this convolution: an input gradient is wanted, the weight is frozen,
    /// the math is bf16/fp16, the stride is 1, the kernel more than one tap (a 1×1's gradient is one product already)
    /// and the image at least 8 pixels per output channel.</summary>
    public static bool Applies(Tensor input, Tensor weight, Tensor? bias, long[] stride, long[] padding, long[] dilation)
    {
        if (!is_grad_enabled() || !input.requires_grad || weight.requires_grad || bias?.requires_grad == true) return false;
        if (input.dtype is not (ScalarType.BFloat16 or ScalarType.Float16) || weight.dtype != input.dtype) return false;
        long kh = weight.shape[2], kw = weight.shape[3];
        if (!stride.All(s => s == 1) || kh * kw == 1 || padding[0] > dilation[0] * (kh - 1) || padding[1] > dilation[1] * (kw - 1)) return false;
        // Its backward copies the kernel flipped (C_in·C_out·k² values) to save the k² folding adds over the input
        // (C_in·k²·H·W): worth it where the image is large against the channels. At SD1.5's 64×64 (320 channels) it is
        // as fast as autograd's route; at 32×32 with 640 channels 15 % slower, at 16×16 with 1280 35 % slower.
        long pixels = input.shape[2] * input.shape[3];
        return pixels >= 8 * weight.shape[0];
    }

    /// <summary>The unfolded convolution (stride 1), with the input gradient described above.</summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long[] padding, long[] dilation)
    {
        var geometry = new Geometry(padding, dilation);
        return AutogradNodes.Built(bias is null ? Function.apply(input, weight, geometry) : Function.apply(input, weight, geometry, bias));
    }

    sealed record Geometry(long[] Padding, long[] Dilation);

    static readonly long[] Unit = [1, 1];

    sealed class Function : SingleTensorFunction<Function>
    {
        public override string Name => "FrozenConv";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var input = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var geometry = (Geometry)vars[2];
            var bias = vars.Length > 3 ? (Tensor)vars[3] : null;
            ctx.save_for_backward([weight]);
            ctx.save_data("geometry", geometry);
            ctx.save_data("inputs", vars.Length);
            AutogradNodes.Lean(ctx);
            using var scope = NewDisposeScope();   // apply() runs this with gradients off: the plain unfolded product
            return GuardedConv.Unfolded(input, weight, bias, Unit, geometry.Padding, geometry.Dilation).MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
        {
            var grads = new List<Tensor>();
            for (int i = 0; i < (int)ctx.get_data("inputs"); i++) grads.Add(null!);
            if (gradOutput is null || gradOutput.IsInvalid) return grads;
            var geometry = (Geometry)ctx.get_data("geometry");
            using (var scope = NewDisposeScope())
            {
                var weight = ctx.get_saved_variables()[0];
                long kh = weight.shape[2], kw = weight.shape[3];
                // x's gradient at (i, j) gathers every output the tap touched: a "full" convolution of the output
                // gradient with W[co, ci, kh-1-a, kw-1-b] as kernel [ci, co, a, b]. Padding d·(k-1) - p restores x's size.
                var flipped = weight.flip(2, 3).transpose(0, 1).contiguous();
                long[] padding = [geometry.Dilation[0] * (kh - 1) - geometry.Padding[0], geometry.Dilation[1] * (kw - 1) - geometry.Padding[1]];
                grads[0] = GuardedConv.Unfolded(gradOutput.contiguous(), flipped, null, Unit, padding, geometry.Dilation).MoveToOuterDisposeScope();
            }
            return AutogradNodes.Returning(grads, gradOutput);
        }
    }
}
