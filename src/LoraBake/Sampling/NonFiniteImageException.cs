using LoraBake.Numerics;
using LoraBake.Runtime;

namespace LoraBake.Sampling;

/// <summary>
/// A render whose latents or pixels hold NaN or infinity. Never written as an image: a black square
/// would look like a result. The message names the render and the likely cause.
/// </summary>
public sealed class NonFiniteImageException(string stage, GenerateRequest request, bool withLora)
    : UserError(Describe(stage, request, withLora))
{
    public GenerateRequest Request { get; } = request;

    static string Describe(string stage, GenerateRequest r, bool withLora) =>
        $"the {stage} of the render with seed {r.Seed} (prompt \"{r.Prompt}\", {r.Steps} steps, CFG {r.Cfg}, {r.Width}×{r.Height}) are not finite (NaN or infinity). " +
        (withLora
            ? "Likely cause: the LoRA is overcooked at this weight (a too-high learning rate or too many steps): compare an earlier epoch or a lower weight. "
            : "Likely cause: the base model or this CPU's kernels. ") +
        $"If it also happens without a LoRA, check `lorabake doctor` ({NumericsGuard.Current.Summary}).";
}
