using System.Reflection;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace LoraBake.Numerics;

/// <summary>
/// TorchSharp 0.107 keeps, for every custom autograd node, an uninitialised tensor the size of each output (a template
/// to build zero gradients from when <c>materialize_grads</c> is on) for as long as the graph lives: a second copy of
/// every output, which costs a custom function per layer as much memory as it saves. A function that turns
/// <c>materialize_grads</c> off never reads the templates, so it frees them right after its node is built.
/// Reflection on TorchSharp's private fields: where they are not found (another version), nothing is freed.
///
/// The other half is the tensors a custom backward sees and returns. TorchSharp wraps the incoming gradient in a
/// handle registered with the current dispose scope, and the returned gradients are handles too: the step's scope
/// would keep every one of them (each the size of a layer's input or output) until the whole backward has run.
/// <see cref="Returning"/> drops the incoming one once used and the returned ones once the engine has taken its own
/// reference (at the next custom backward on the thread).
/// </summary>
public static class AutogradNodes
{
    static readonly FieldInfo? NodeOfContext = typeof(AutogradContext).GetField("_node", BindingFlags.NonPublic | BindingFlags.Instance);

    [ThreadStatic] static List<Tensor>? returned;

    /// <summary>
    /// What a custom backward returns, after dropping <paramref name="gradOutput"/> and the gradients the previous custom
    /// backward on this thread returned (the autograd engine copied them into its own references when that call ended).
    /// </summary>
    public static List<Tensor> Returning(List<Tensor> grads, Tensor? gradOutput)
    {
        if (returned is { } previous)
        {
            foreach (var t in previous) t.Dispose();
            previous.Clear();
        }
        else returned = [];
        if (gradOutput is not null && !gradOutput.IsInvalid) gradOutput.Dispose();
        foreach (var g in grads)
            if (g is not null && !g.IsInvalid) returned.Add(g.DetachFromDisposeScope());
        return grads;
    }

    [ThreadStatic] static AutogradContext? building;

    /// <summary>
    /// Called in a custom function's forward: an undefined incoming gradient stays undefined (its backward handles
    /// that), so the node's output templates are never read and <see cref="Built"/> can free them.
    /// </summary>
    public static void Lean(AutogradContext ctx)
    {
        ctx.set_materialize_grads(false);
        building = ctx;
    }

    /// <summary>Wraps a custom function's <c>apply</c>: frees the output templates of the node just built on this thread.</summary>
    public static Tensor Built(Tensor output)
    {
        if (building is { } ctx) ReleaseOutputTemplates(ctx);
        building = null;
        return output;
    }

    static void ReleaseOutputTemplates(AutogradContext ctx)
    {
        if (ctx.MaterializeGrads || NodeOfContext?.GetValue(ctx) is not { } node) return;
        if (node.GetType().GetField("_outputCache", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(node) is not List<Tensor> templates) return;
        for (int i = 0; i < templates.Count; i++)
        {
            templates[i]?.Dispose();
            templates[i] = null!;
        }
    }
}
