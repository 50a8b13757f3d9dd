using System.IO.Compression;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// Reads a `.ckpt`/`.pt`/`.pth` (PyTorch's zip format: `NAME/data.pkl` plus one `NAME/data/KEY` file per storage)
/// through <see cref="RestrictedUnpickler"/>, which refuses any global a state dict does not need. A Lightning
/// checkpoint's nested `state_dict` is unwrapped; only tensor entries are returned.
/// </summary>
public static class CkptReader
{
    public static bool LooksLikeZip(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> sig = stackalloc byte[4];
        return fs.Read(sig) == 4 && sig[0] == 0x50 && sig[1] == 0x4b && sig[2] == 0x03 && sig[3] == 0x04;
    }

    /// <summary>All tensors of the checkpoint's state dict, optionally converted to <paramref name="dtype"/>.</summary>
    public static Dictionary<string, Tensor> Load(string path, ScalarType? dtype = null)
    {
        try { return LoadCore(path, dtype, readData: true); }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException) { throw Malformed(path, e); }
    }

    /// <summary>
    /// The state dict's key names, without reading tensor data (storages are allocated but never touched, so the
    /// OS commits no memory for them): enough to tell the model family of a multi-gigabyte checkpoint quickly.
    /// </summary>
    public static IReadOnlyList<string> Keys(string path)
    {
        try
        {
            var sd = LoadCore(path, null, readData: false);
            var keys = sd.Keys.ToList();
            foreach (var t in sd.Values) t.Dispose();
            return keys;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException) { throw Malformed(path, e); }
    }

    static UserError Malformed(string path, Exception e) =>
        new($"{path}: starts like a zip-format PyTorch checkpoint but is not a valid one ({e.Message}). " +
            "The file is damaged or incomplete; fetch it again, or use a .safetensors version of the model.");

    static Dictionary<string, Tensor> LoadCore(string path, ScalarType? dtype, bool readData)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: file not found.");
        if (!LooksLikeZip(path))
            throw new UserError($"{path}: not a zip-format PyTorch checkpoint (saved by torch older than 1.6, or not a checkpoint at all). " +
                                "Convert it to .safetensors with a trusted tool and use that.");
        using var zip = ZipFile.OpenRead(path);
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                  ?? throw new UserError($"{path}: this zip has no NAME/data.pkl, so it is not a PyTorch checkpoint.");
        var prefix = pkl.FullName[..^"data.pkl".Length];

        Tensor LoadStorage(string key, ScalarType type, long numel)
        {
            var entry = zip.GetEntry($"{prefix}data/{key}")
                        ?? throw new UserError($"{path}: the pickle refers to storage '{key}' but the archive has no {prefix}data/{key}. The file is corrupt.");
            var t = empty(numel, type);
            if (entry.Length < numel * t.ElementSize)
            {
                t.Dispose();
                throw new UserError($"{path}: storage {prefix}data/{key} has {entry.Length} bytes, fewer than its {numel} {type} elements need. The file is corrupt.");
            }
            if (!readData) return t;
            using var s = entry.Open();
            TensorBytes.ReadInto(s, t);
            return t;
        }

        object? root;
        using (var s = pkl.Open())
        {
            var unpickler = new RestrictedUnpickler(path, s, LoadStorage);
            try { root = unpickler.Load(); }
            finally { unpickler.ReleaseStorages(); }
        }

        var dict = root as Dictionary<object, object?>
                   ?? throw new UserError($"{path}: the checkpoint holds a {root?.GetType().Name ?? "None"}, not a dict of tensors.");
        if (dict.TryGetValue("state_dict", out var inner) && inner is Dictionary<object, object?> sd) dict = sd;

        var result = new Dictionary<string, Tensor>();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (k, v) in dict)
        {
            if (k is not string key || v is not Tensor t) continue;
            // A tensor pickled twice (tied weights) is one object here; each key gets its own.
            result[key] = seen.Add(t) ? t : t.clone();
        }
        if (dtype is { } d)
            foreach (var key in result.Keys.ToList())
            {
                var t = result[key];
                if (t.dtype == d) continue;
                result[key] = t.to_type(d);
                t.Dispose();
            }
        return result;
    }
}
