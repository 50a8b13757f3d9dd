using LoraBake.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LoraBake.Networks;

/// <summary>
/// The set of adapters on a UNet and (optionally) a text encoder, laid out like kohya's LoRANetwork:
/// targets found by class name, one module per child Linear/Conv2d, kohya names and keys.
/// Target classes are matched by the simple class name (<c>GetType().Name</c>), as sd-scripts matches
/// <c>module.__class__.__name__</c>; any module tree with those class names works (tests use tiny stand-ins).
/// </summary>
public sealed class LoraNetwork : Module
{
    public const string UNetPrefix = "lora_unet";
    public const string TextEncoderPrefix = "lora_te";

    /// <summary>sd-scripts <c>UNET_TARGET_REPLACE_MODULE</c>.</summary>
    public static readonly IReadOnlyList<string> UNetTargets = new[] { "Transformer2DModel" };
    /// <summary>sd-scripts <c>UNET_TARGET_REPLACE_MODULE_CONV2D_3X3</c> (LoCon and LoHa).</summary>
    public static readonly IReadOnlyList<string> UNetConvTargets = new[] { "ResnetBlock2D", "Downsample2D", "Upsample2D" };
    /// <summary>sd-scripts <c>TEXT_ENCODER_TARGET_REPLACE_MODULE</c>.</summary>
    public static readonly IReadOnlyList<string> TextEncoderTargets = new[] { "CLIPAttention", "CLIPSdpaAttention", "CLIPMLP" };

    private readonly List<NetworkModule> _modules = new();

    public NetworkType Type { get; }
    public IReadOnlyList<NetworkModule> Modules => _modules;
    public IEnumerable<NetworkModule> TextEncoderModules => _modules.Where(m => m.IsTextEncoder);
    public IEnumerable<NetworkModule> UNetModules => _modules.Where(m => !m.IsTextEncoder);
    /// <summary>True once <see cref="MergeInto"/> has folded the adapters into the base weights.</summary>
    public bool IsMerged { get; private set; }

    private LoraNetwork(NetworkType type) : base("lora_network") => Type = type;

    /// <summary>
    /// Builds the adapters and hooks them into the models, freezing every base parameter.
    /// Pass <paramref name="textEncoder"/> = null to train the UNet only (text_encoder_lr = 0:
    /// sd-scripts then neither applies nor saves text-encoder modules).
    /// </summary>
    /// <param name="dim">network_dim, for Linear and 1×1 conv layers.</param>
    /// <param name="alpha">network_alpha (0 → dim).</param>
    /// <param name="convDim">conv_dim for k×k convs; LoCon/LoHa only. Default: dim.</param>
    /// <param name="convAlpha">conv_alpha. Default: 1.0 for LoCon (sd-scripts), alpha for LoHa (LyCORIS).</param>
    public static LoraNetwork Create(Module unet, Module? textEncoder, NetworkType type, int dim, double alpha,
                                     int? convDim = null, double? convAlpha = null, ScalarType dtype = ScalarType.Float32)
    {
        int kDim = convDim ?? dim;
        double kAlpha = convAlpha ?? (type == NetworkType.LoHa ? alpha : 1.0);
        var network = new LoraNetwork(type);
        Freeze(unet);
        if (textEncoder is not null)
        {
            Freeze(textEncoder);
            foreach (var (name, layer) in FindLayers(textEncoder, TextEncoderPrefix, TextEncoderTargets))
                network.Add(NewModule(type, name, layer, true, dim, alpha, dtype));
        }
        var unetTargets = type == NetworkType.LoRA ? UNetTargets : UNetTargets.Concat(UNetConvTargets).ToList();
        foreach (var (name, layer) in FindLayers(unet, UNetPrefix, unetTargets))
        {
            if (layer.IsKxKConv && type == NetworkType.LoRA) continue;   // sd-scripts skips k×k convs without conv_dim
            network.Add(layer.IsKxKConv
                ? NewModule(type, name, layer, false, kDim, kAlpha, dtype)
                : NewModule(type, name, layer, false, dim, alpha, dtype));
        }
        return network;
    }

    /// <summary>
    /// Builds a network from a kohya / LyCORIS file's tensors (LoRA, LoCon or LoHa per module; dim from
    /// the shapes, alpha from the <c>alpha</c> key or dim), as sd-scripts' <c>create_network_from_weights</c>.
    /// Any Linear/Conv2d of the models can be a target. Modules whose layer does not exist are listed in
    /// <see cref="UnmatchedModules"/> (A1111 and ComfyUI skip them too).
    /// </summary>
    public static LoraNetwork FromWeights(Module unet, Module? textEncoder, IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var layers = new Dictionary<string, (TargetLayer Layer, bool IsTe)>();
        foreach (var (name, layer) in FindLayers(unet, UNetPrefix, null)) layers[name] = (layer, false);
        if (textEncoder is not null)
            foreach (var (name, layer) in FindLayers(textEncoder, TextEncoderPrefix, null)) layers[name] = (layer, true);
        Freeze(unet);
        if (textEncoder is not null) Freeze(textEncoder);

        var byModule = tensors.Keys.GroupBy(k => k.Split('.', 2)[0]).OrderBy(g => g.Key, StringComparer.Ordinal);
        NetworkType? kind = null;
        var network = new List<NetworkModule>();
        var unmatched = new List<string>();
        foreach (var group in byModule)
        {
            var name = group.Key;
            var suffixes = group.Select(k => k.Length > name.Length ? k[(name.Length + 1)..] : "").ToHashSet();
            if (!layers.TryGetValue(name, out var target)) { unmatched.Add(name); continue; }
            double alpha = tensors.TryGetValue($"{name}.alpha", out var a) ? a.to(float64).item<double>() : 0.0;
            NetworkModule module;
            if (suffixes.Contains("lora_down.weight") && suffixes.Contains("lora_up.weight"))
            {
                CheckSuffixes(source, name, suffixes, "lora_down.weight", "lora_up.weight", "alpha");
                int dim = (int)tensors[$"{name}.lora_down.weight"].shape[0];
                module = new LoRAModule(name, target.Layer, target.IsTe, dim, alpha);
                kind = target.Layer.IsKxKConv ? NetworkType.LoCon : kind ?? NetworkType.LoRA;
            }
            else if (suffixes.Contains("hada_w1_a"))
            {
                CheckSuffixes(source, name, suffixes, "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "alpha");
                int dim = (int)tensors[$"{name}.hada_w1_b"].shape[0];
                module = new LoHaModule(name, target.Layer, target.IsTe, dim, alpha);
                kind = NetworkType.LoHa;
            }
            else
            {
                throw new UserError($"{source}: module '{name}' has keys {string.Join(", ", suffixes)}, which is not a LoRA/LoCon " +
                                    "(lora_down/lora_up) or LoHa (hada_w1_a…) module; other LyCORIS types (LoKr, IA3, Tucker, DoRA) are not supported.");
            }
            network.Add(module);
        }
        var result = new LoraNetwork(kind ?? NetworkType.LoRA);
        foreach (var m in network) result.Add(m);
        result.UnmatchedModules = unmatched;
        result.Load(tensors.Where(kv => !unmatched.Contains(kv.Key.Split('.', 2)[0])).ToDictionary(kv => kv.Key, kv => kv.Value), source);
        return result;
    }

    /// <summary>Module names in the file given to <see cref="FromWeights"/> that match no layer of the models.</summary>
    public IReadOnlyList<string> UnmatchedModules { get; private set; } = Array.Empty<string>();

    private static void CheckSuffixes(string source, string name, HashSet<string> suffixes, params string[] allowed)
    {
        var extra = suffixes.Except(allowed).ToList();
        if (extra.Count > 0)
            throw new UserError($"{source}: module '{name}' has keys {string.Join(", ", extra)} that are not supported " +
                                "(Tucker lora_mid/hada_t, DoRA dora_scale …). Re-export the network without them.");
    }

    private void Add(NetworkModule module)
    {
        if (_modules.Any(m => m.LoraName == module.LoraName)) { module.Dispose(); return; }   // nested targets reach a layer twice
        _modules.Add(module);
        register_module(module.LoraName, module);
        module.Attach();
    }

    private static NetworkModule NewModule(NetworkType type, string name, TargetLayer layer, bool isTe, int dim, double alpha, ScalarType dtype) =>
        type == NetworkType.LoHa
            ? new LoHaModule(name, layer, isTe, dim, alpha, dtype)
            : new LoRAModule(name, layer, isTe, dim, alpha, dtype);

    private static void Freeze(Module model)
    {
        foreach (var p in model.parameters()) p.requires_grad = false;
    }

    /// <summary>
    /// Kohya names of the Linear/Conv2d layers under modules whose class name is in <paramref name="targets"/>
    /// (all layers when null): prefix + "_" + module path with '.' → '_'. Text-encoder paths are rooted at
    /// <c>text_model.</c> as in transformers' CLIPTextModel, whether the given module is the CLIPTextModel
    /// or its inner transformer.
    /// </summary>
    internal static IEnumerable<(string Name, TargetLayer Layer)> FindLayers(Module root, string prefix, IReadOnlyCollection<string>? targets)
    {
        var found = new List<(string, TargetLayer)>();
        var seen = new HashSet<string>();
        var scopes = targets is null
            ? new List<(string Path, Module Module)> { ("", root) }
            : root.named_modules().Where(nm => targets.Contains(nm.module.GetType().Name)).Select(nm => (nm.name, nm.module)).ToList();
        foreach (var (scopePath, scope) in scopes)
        {
            foreach (var (childPath, child) in scope.named_modules())
            {
                if (child is not (Models.GuardedLinear or Models.GuardedConv2d)) continue;
                var path = scopePath.Length == 0 ? childPath : $"{scopePath}.{childPath}";
                if (prefix == TextEncoderPrefix && !path.StartsWith("text_model.", StringComparison.Ordinal)) path = "text_model." + path;
                var name = $"{prefix}_{path.Replace('.', '_')}";
                if (seen.Add(name)) found.Add((name, new TargetLayer((Module<Tensor, Tensor>)child)));
            }
        }
        return found;
    }

    /// <summary>Strength of every module (kohya <c>set_multiplier</c>).</summary>
    public void SetMultiplier(double multiplier)
    {
        foreach (var m in _modules) m.Multiplier = multiplier;
    }

    /// <summary>Separate strengths for text encoder and UNet (A1111 <c>&lt;lora:name:te:unet&gt;</c>).</summary>
    public void SetMultiplier(double textEncoder, double unet)
    {
        foreach (var m in _modules) m.Multiplier = m.IsTextEncoder ? textEncoder : unet;
    }

    public void SetEnabled(bool enabled)
    {
        foreach (var m in _modules) m.Enabled = enabled;
    }

    /// <summary>
    /// sd-scripts' <c>prepare_optimizer_params</c>: text encoder at <c>text_encoder_lr ?? learning_rate</c>,
    /// UNet at <c>unet_lr ?? learning_rate</c>; empty groups are left out (and optimizers drop LR-0 groups).
    /// </summary>
    public List<NetworkParamGroup> ParamGroups(double learningRate, double? textEncoderLr, double? unetLr)
    {
        var groups = new List<NetworkParamGroup>();
        var te = TextEncoderModules.SelectMany(m => m.parameters()).ToList();
        var un = UNetModules.SelectMany(m => m.parameters()).ToList();
        if (te.Count > 0) groups.Add(new NetworkParamGroup("text_encoder", te, textEncoderLr ?? learningRate));
        if (un.Count > 0) groups.Add(new NetworkParamGroup("unet", un, unetLr ?? learningRate));
        return groups;
    }

    /// <summary>Kohya keys (<c>&lt;name&gt;.lora_down.weight</c>, <c>&lt;name&gt;.alpha</c> …) → CPU copies in <paramref name="dtype"/>.</summary>
    public Dictionary<string, Tensor> StateDict(ScalarType dtype)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = no_grad();
        foreach (var m in _modules)
        {
            foreach (var (key, p) in m.named_parameters()) result[$"{m.LoraName}.{key}"] = Export(p, dtype);
            foreach (var (key, b) in m.named_buffers()) result[$"{m.LoraName}.{key}"] = Export(b, dtype);
        }
        return result;
    }

    private static Tensor Export(Tensor t, ScalarType dtype)
    {
        var copy = t.detach().to(dtype, CPU, copy: true).contiguous();
        copy.DetachFromDisposeScope();
        return copy;
    }

    /// <summary>
    /// Copies a kohya state dict into this network: every module key must be present with the right shape;
    /// <c>alpha</c> updates the module's scale. Keys of modules this network lacks are an error.
    /// </summary>
    public void Load(IReadOnlyDictionary<string, Tensor> tensors, string source = "network weights")
    {
        var own = _modules.ToDictionary(m => m.LoraName);
        var unknown = tensors.Keys.Where(k => !own.ContainsKey(k.Split('.', 2)[0])).ToList();
        if (unknown.Count > 0)
            throw new UserError($"{source}: {unknown.Count} keys belong to modules this {Type} network does not have " +
                                $"(first: {unknown[0]}). Was it trained with a different network type, dim or text-encoder setting?");
        using var _ = no_grad();
        foreach (var m in _modules)
        {
            foreach (var (key, p) in m.named_parameters())
            {
                var full = $"{m.LoraName}.{key}";
                if (!tensors.TryGetValue(full, out var t))
                    throw new UserError($"{source}: missing '{full}'. The file does not match this network (type {Type}).");
                if (!t.shape.SequenceEqual(p.shape))
                    throw new UserError($"{source}: '{full}' has shape [{string.Join(",", t.shape)}] but the network needs " +
                                        $"[{string.Join(",", p.shape)}]: the file was trained with another dim or base model.");
                p.copy_(t.to(p.dtype, p.device));
            }
            if (tensors.TryGetValue($"{m.LoraName}.alpha", out var alpha)) m.SetAlpha(alpha.to(float64).item<double>());
            else m.SetAlpha(0);   // no alpha key: scale 1, as A1111/ComfyUI/sd-scripts read such files
        }
    }

    /// <summary>
    /// Folds the adapters into the base weights, W ← W + m·(alpha/dim)·ΔW (kohya <c>merge_to</c>), and
    /// unhooks them, so the models run without the network afterwards. Per-module multipliers are ignored:
    /// <paramref name="multiplier"/> applies to all.
    /// </summary>
    public void MergeInto(double multiplier)
    {
        if (IsMerged) throw new InvalidOperationException("The network is already merged into the models.");
        foreach (var m in _modules)
        {
            m.MergeInto(multiplier);
            m.Detach();
        }
        IsMerged = true;
    }

    /// <summary>Unhooks every module from the models (the network's tensors stay usable).</summary>
    public void Remove()
    {
        foreach (var m in _modules) m.Detach();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Remove();
        base.Dispose(disposing);
    }
}
