using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LoraBake.Networks;

/// <summary>
/// One adapter on one frozen layer, named as in kohya files (<c>lora_unet_…</c>, <c>lora_te_…</c>).
/// Its tensors are registered under kohya's suffixes, so <c>named_parameters()</c> and
/// <see cref="LoraNetwork.StateDict"/> give <c>lora_down.weight</c>, <c>hada_w1_a</c>, <c>alpha</c>….
///
/// Injection: TorchSharp cannot swap a parent's C# field (Linear/Conv2d are sealed, and the parent keeps
/// calling the object it holds), so the adapter hooks the frozen layer with
/// <c>register_forward_hook</c>, which runs inside <c>Module.call</c> and may replace the output:
/// <c>y ← y + Δ(x)</c>. The base model keeps its own modules and parameter names untouched. Model code
/// must therefore invoke layers with <c>.call(x)</c> (TorchSharp's equivalent of <c>module(x)</c>);
/// a direct <c>.forward(x)</c> bypasses hooks.
/// </summary>
public abstract class NetworkModule : Module
{
    public string LoraName { get; }
    public TargetLayer Target { get; }
    public bool IsTextEncoder { get; }
    public int Dim { get; }
    /// <summary>The alpha as given; 0 means "same as dim" (kohya's None/0 rule).</summary>
    public double Alpha { get; private set; }
    /// <summary>alpha / dim.</summary>
    public double Scale => Alpha / Dim;
    /// <summary>Strength at run time (kohya <c>multiplier</c>, A1111's weight).</summary>
    public double Multiplier { get; set; } = 1.0;
    public bool Enabled { get; set; } = true;

    private HookableModule<Func<Module<Tensor, Tensor>, Tensor, Tensor>, Func<Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover? _hook;

    protected NetworkModule(string loraName, TargetLayer target, bool isTextEncoder, int dim, double alpha) : base(loraName)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), $"{loraName}: dim must be positive.");
        LoraName = loraName;
        Target = target;
        IsTextEncoder = isTextEncoder;
        Dim = dim;
        Alpha = alpha == 0 ? dim : alpha;
        // kohya stores alpha as a buffer (0-dim, saved in the save dtype).
        register_buffer("alpha", tensor((float)Alpha, device: target.Weight.device));
    }

    /// <summary>Sets alpha (e.g. from a loaded file's <c>alpha</c> tensor).</summary>
    public void SetAlpha(double alpha)
    {
        Alpha = alpha == 0 ? Dim : alpha;
        using var _ = no_grad();
        get_buffer("alpha")!.fill_(Alpha);
    }

    /// <summary>The adapter's raw weight change, shaped like the target weight, before alpha/dim and multiplier.</summary>
    public abstract Tensor RawDeltaWeight();

    /// <summary>What the adapter adds to the layer's output for input <paramref name="x"/> (scale and multiplier included).</summary>
    protected abstract Tensor DeltaOutput(Tensor x, double factor);

    /// <summary>
    /// The same for a half-precision input (the frozen model held in bf16 or fp16) and fp32 adapter weights. The
    /// default widens the input and computes in fp32; an adapter may instead compute in the input's dtype with its
    /// weights cast per call, as kohya's autocast does (the weights and their gradients stay fp32).
    /// </summary>
    protected virtual Tensor DeltaOutputMixed(Tensor x, double factor) => DeltaOutput(x.to(ParameterDtype), factor);

    /// <summary>Registers the forward hook on the target layer.</summary>
    internal void Attach()
    {
        if (_hook is not null) return;
        _hook = Target.Module.register_forward_hook((_, x, y) =>
        {
            if (!Enabled || Multiplier == 0.0) return y;
            var adapterType = ParameterDtype;
            var delta = Models.UNet.BlockProfiler.Op(Models.UNet.BlockProfiler.LoraHook, x,
                input => input.dtype == adapterType ? DeltaOutput(input, Multiplier * Scale) : DeltaOutputMixed(input, Multiplier * Scale));
            return y + (delta.dtype == y.dtype ? delta : delta.to(y.dtype));
        });
    }

    internal void Detach()
    {
        _hook?.remove();
        _hook = null;
    }

    protected abstract ScalarType ParameterDtype { get; }

    /// <summary>W ← W + m·(alpha/dim)·ΔW on the frozen layer (computed in fp32, stored in W's dtype).</summary>
    internal void MergeInto(double multiplier)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = Target.Weight;
        var delta = RawDeltaWeight().to(float32).reshape(w.shape) * (multiplier * Scale);
        w.copy_((w.to(float32) + delta.to(w.device)).to(w.dtype));
    }
}
