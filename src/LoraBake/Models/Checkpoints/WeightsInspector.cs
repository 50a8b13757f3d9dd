using System.Text.Json.Serialization;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>Parameter and key counts of an SD 1.x checkpoint's components.</summary>
public sealed record CheckpointSummary(
    long UnetParameters, long TextEncoderParameters, long VaeParameters, long OtherParameters,
    int UnetKeys, int TextEncoderKeys, int VaeKeys, int OtherKeys, string UnetDType);

/// <summary>What a LoRA / LoCon / LoHa file adapts.</summary>
public sealed record NetworkSummary(
    string BaseModel, int Modules, int TextEncoderModules, int UnetModules, int ConvModules,
    IReadOnlyList<long> Dims, IReadOnlyList<double> Alphas,
    IReadOnlyDictionary<string, string> TrainingMetadata);

/// <summary>`lorabake inspect`'s findings about one weights file.</summary>
public sealed record WeightsReport(
    string Path, string Format, long FileBytes, ModelFamily Family, string Description, string Evidence,
    int TensorCount, long Parameters, [property: JsonPropertyName("dtypes")] IReadOnlyDictionary<string, int> DTypes,
    IReadOnlyDictionary<string, string> Metadata, CheckpointSummary? Checkpoint, NetworkSummary? Network);

/// <summary>Reads a .safetensors header (or loads a .ckpt) and says what the file is, without building any model.</summary>
public static class WeightsInspector
{
    /// <summary>The `ss_*` keys worth showing in a summary, in kohya's vocabulary.</summary>
    static readonly string[] SummaryKeys =
    {
        "ss_output_name", "ss_network_module", "ss_network_dim", "ss_network_alpha", "ss_network_args", "ss_base_model_version",
        "ss_sd_model_name", "ss_resolution", "ss_num_train_images", "ss_num_epochs", "ss_epoch", "ss_steps", "ss_learning_rate",
        "ss_unet_lr", "ss_text_encoder_lr", "ss_optimizer", "ss_lr_scheduler", "ss_clip_skip", "ss_mixed_precision",
        "ss_training_started_at", "ss_training_finished_at", "ss_seed", "sshs_model_hash", "modelspec.architecture", "modelspec.title",
    };

    public static WeightsReport Inspect(string path)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: file not found.");
        var bytes = new FileInfo(path).Length;
        List<(string Key, string DType, long[] Shape)> entries;
        IReadOnlyDictionary<string, string> metadata;
        Func<IEnumerable<string>, Dictionary<string, double>> scalars;
        string format;
        if (SafetensorsFile.LooksLikeSafetensors(path))
        {
            var f = SafetensorsFile.Open(path);
            format = "safetensors";
            entries = f.Entries.Select(e => (e.Name, e.DType, e.Shape)).ToList();
            metadata = f.Metadata;
            scalars = keys => ReadScalars(f.Load(keys));
        }
        else if (CkptReader.LooksLikeZip(path))
        {
            var sd = CkptReader.Load(path);
            format = "ckpt";
            entries = sd.Select(kv => (kv.Key, SafetensorsDType.FromScalarType(kv.Value.dtype), kv.Value.shape)).ToList();
            metadata = new Dictionary<string, string>();
            var values = ReadScalars(sd.Where(kv => kv.Value.numel() == 1).ToDictionary(kv => kv.Key, kv => kv.Value.alias()));
            foreach (var t in sd.Values) t.Dispose();
            scalars = keys => keys.Where(values.ContainsKey).ToDictionary(k => k, k => values[k]);
        }
        else throw new UserError($"{path}: neither a safetensors file nor a zip-format PyTorch checkpoint.");

        var detected = FamilyDetection.Detect(entries.Select(e => e.Key).ToList());
        static long Numel(long[] s) => s.Aggregate(1L, (a, b) => a * b);
        var dtypes = entries.GroupBy(e => e.DType).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count());

        CheckpointSummary? ckpt = null;
        if (detected.Family is ModelFamily.Sd1 or ModelFamily.Sd2)
        {
            var textPrefix = detected.Family == ModelFamily.Sd1 ? Sd1Checkpoint.TextPrefix : "cond_stage_model.model.";
            string Part(string k) =>
                k.StartsWith(Sd1Checkpoint.UnetPrefix, StringComparison.Ordinal) ? "unet" :
                k.StartsWith(textPrefix, StringComparison.Ordinal) && !k.EndsWith("position_ids", StringComparison.Ordinal) ? "text" :
                k.StartsWith(Sd1Checkpoint.VaePrefix, StringComparison.Ordinal) ? "vae" : "other";
            var parts = entries.GroupBy(e => Part(e.Key)).ToDictionary(g => g.Key, g => (Params: g.Sum(e => Numel(e.Shape)), Keys: g.Count()));
            (long Params, int Keys) Get(string p) => parts.TryGetValue(p, out var v) ? v : (0, 0);
            var unetDType = entries.Where(e => Part(e.Key) == "unet").GroupBy(e => e.DType).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault() ?? "-";
            ckpt = new CheckpointSummary(Get("unet").Params, Get("text").Params, Get("vae").Params, Get("other").Params,
                Get("unet").Keys, Get("text").Keys, Get("vae").Keys, Get("other").Keys, unetDType);
        }

        NetworkSummary? network = null;
        if (detected.IsNetwork)
        {
            var modules = entries.Select(e => e.Key[..Math.Max(0, e.Key.IndexOf('.'))]).Where(m => m.Length > 0).Distinct().ToList();
            var shapes = entries.ToDictionary(e => e.Key, e => e.Shape);
            var dims = new SortedSet<long>();
            var conv = 0;
            foreach (var m in modules)
            {
                if (shapes.TryGetValue(m + ".lora_down.weight", out var down))
                {
                    dims.Add(down[0]);
                    if (down.Length == 4 && (down[2] > 1 || down[3] > 1)) conv++;
                }
                else if (shapes.TryGetValue(m + ".hada_w1_b", out var w1b))
                {
                    dims.Add(w1b[0]);
                    if (shapes.TryGetValue(m + ".hada_w1_a", out _) && IsConvModule(m)) conv++;
                }
            }
            var alphas = scalars(modules.Select(m => m + ".alpha").Where(shapes.ContainsKey)).Values.Select(a => Math.Round(a, 6)).Distinct().Order().ToList();
            var summary = SummaryKeys.Where(metadata.ContainsKey).ToDictionary(k => k, k => metadata[k]);
            network = new NetworkSummary(BaseModelOf(modules, metadata), modules.Count,
                modules.Count(m => m.StartsWith("lora_te", StringComparison.Ordinal)),
                modules.Count(m => m.StartsWith("lora_unet", StringComparison.Ordinal)),
                conv, dims.ToList(), alphas, summary);
        }

        return new WeightsReport(path, format, bytes, detected.Family, detected.Describe(), detected.Evidence, entries.Count,
            entries.Sum(e => Numel(e.Shape)), dtypes, metadata, ckpt, network);
    }

    /// <summary>Which base model a network was trained on: metadata first (what A1111 reads), then SDXL's two-encoder names.</summary>
    static string BaseModelOf(List<string> modules, IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.TryGetValue("ss_base_model_version", out var v) && v.Length > 0) return v;
        if (modules.Any(m => m.StartsWith("lora_te1_", StringComparison.Ordinal) || m.StartsWith("lora_te2_", StringComparison.Ordinal))) return "sdxl (two text encoders)";
        if (metadata.TryGetValue("ss_v2", out var v2) && v2 == "True") return "sd_v2";
        return "sd_v1 (assumed: no ss_base_model_version)";
    }

    /// <summary>LoHa stores flattened factors; a 3×3 conv target is known by name (resnet convs, samplers).</summary>
    static bool IsConvModule(string m) =>
        m.StartsWith("lora_unet_", StringComparison.Ordinal) &&
        (m.EndsWith("_conv1", StringComparison.Ordinal) || m.EndsWith("_conv2", StringComparison.Ordinal) || m.EndsWith("samplers_0_conv", StringComparison.Ordinal) ||
         m == "lora_unet_conv_in" || m == "lora_unet_conv_out");

    static Dictionary<string, double> ReadScalars(Dictionary<string, Tensor> tensors)
    {
        var result = new Dictionary<string, double>();
        foreach (var (k, t) in tensors)
        {
            using (t)
            using (var f = t.to_type(ScalarType.Float64))
                result[k] = f.numel() == 1 ? f.reshape(1)[0].item<double>() : double.NaN;
        }
        return result;
    }
}
