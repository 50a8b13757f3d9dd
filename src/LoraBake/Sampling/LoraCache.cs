using LoraBake.Models;
using LoraBake.Models.Checkpoints;
using LoraBake.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// LoRA files loaded onto one <see cref="Sd1Model"/>, kept between renders (keyed by full path, size and
/// write time) so a grid that renders one file at several strengths loads it once. Networks sit detached
/// while unused; <see cref="Apply"/> attaches or merges them for one render and its result undoes that.
/// Inside <see cref="KeepMerged"/>, a merge outlives its render: the next render with the same files and strengths
/// finds it in place, and any other render (another file, weight or the baseline) first restores the base weights.
/// </summary>
internal sealed class LoraCache(Sd1Model model) : IDisposable
{
    readonly Dictionary<string, (DateTime Written, long Length, LoraNetwork Network)> _networks = new(StringComparer.Ordinal);

    /// <summary>How many times a file was read (not served from the cache).</summary>
    public int FileLoads { get; private set; }

    /// <summary>How many times LoRA weights were merged into the model (renders reusing a kept merge do not count).</summary>
    public int Merges { get; private set; }

    bool _keeping;
    List<(LoraNetwork Network, double Te, double Unet)>? _keptSet;
    IDisposable? _kept;

    public LoraNetwork Get(string path)
    {
        var info = new FileInfo(Path.GetFullPath(path));
        if (!info.Exists)
            throw new Runtime.UserError($"{path}: LoRA file not found. Check the path given to --lora (or the <lora:NAME:W> tag).");
        if (_networks.TryGetValue(info.FullName, out var cached))
        {
            if (cached.Written == info.LastWriteTimeUtc && cached.Length == info.Length) return cached.Network;
            cached.Network.Dispose();
            _networks.Remove(info.FullName);
        }
        var tensors = SafetensorsFile.Open(info.FullName).Load(dtype: ScalarType.Float32);
        FileLoads++;
        LoraNetwork network;
        try { network = LoraNetwork.FromWeights(model.Unet, model.TextEncoder, tensors, info.FullName); }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
        network.Remove();   // FromWeights hooks it in; it stays detached until a render uses it
        _networks[info.FullName] = (info.LastWriteTimeUtc, info.Length, network);
        return network;
    }

    /// <summary>Applies <paramref name="loras"/> (a file named twice gets the summed strengths); dispose the result to undo.</summary>
    public IDisposable Apply(IReadOnlyList<LoraReference> loras, LoraApplyMode mode)
    {
        var combined = loras
            .GroupBy(l => Path.GetFullPath(l.Path), StringComparer.Ordinal)
            .Select(g => (Network: Get(g.Key), Te: g.Sum(l => l.TextEncoderWeight), Unet: g.Sum(l => l.UnetWeight)))
            .ToList();
        if (!_keeping || mode == LoraApplyMode.Hooks)
        {
            RestoreKept();
            return mode == LoraApplyMode.Hooks ? Hooked(combined) : Merged(combined);
        }
        // The same network objects (a changed file is a new one) at the same strengths: the merge in place is this one.
        if (_keptSet is null || !_keptSet.SequenceEqual(combined))
        {
            RestoreKept();
            _kept = Merged(combined);
            _keptSet = combined;
        }
        return new Undo(() => { });   // restored by the next different render or by the end of KeepMerged
    }

    /// <summary>Until the result is disposed, merged LoRAs stay merged between renders that use the same files at the
    /// same strengths; disposing it restores the base weights exactly.</summary>
    public IDisposable KeepMerged()
    {
        if (_keeping) throw new InvalidOperationException("KeepMerged is already active");
        _keeping = true;
        return new Undo(() => { RestoreKept(); _keeping = false; });
    }

    void RestoreKept()
    {
        _kept?.Dispose();
        _kept = null;
        _keptSet = null;
    }

    static IDisposable Hooked(List<(LoraNetwork Network, double Te, double Unet)> loras)
    {
        foreach (var (network, te, unet) in loras)
        {
            network.SetMultiplier(te, unet);
            foreach (var m in network.Modules) m.Attach();
        }
        return new Undo(() => { foreach (var l in loras) l.Network.Remove(); });
    }

    IDisposable Merged(List<(LoraNetwork Network, double Te, double Unet)> loras)
    {
        if (loras.Count > 0) Merges++;
        // Each weight as it was before each merge, copied back in reverse order: bit-exact even when
        // several networks touch one layer.
        var saved = new List<(Tensor Weight, Tensor Before)>();
        void Restore()
        {
            using var _ = no_grad();
            for (int i = saved.Count - 1; i >= 0; i--)
            {
                saved[i].Weight.copy_(saved[i].Before);
                saved[i].Before.Dispose();
            }
            saved.Clear();
        }
        try
        {
            foreach (var (network, te, unet) in loras)
                foreach (var m in network.Modules)
                {
                    double multiplier = m.IsTextEncoder ? te : unet;
                    if (multiplier == 0) continue;
                    var weight = m.Target.Weight;
                    saved.Add((weight, weight.detach().clone().DetachFromDisposeScope()));
                    m.MergeInto(multiplier);
                }
        }
        catch
        {
            Restore();
            throw;
        }
        return new Undo(Restore);
    }

    sealed class Undo(Action undo) : IDisposable
    {
        Action? _undo = undo;
        public void Dispose() { _undo?.Invoke(); _undo = null; }
    }

    public void Dispose()
    {
        RestoreKept();
        foreach (var (_, _, network) in _networks.Values) network.Dispose();
        _networks.Clear();
    }
}
