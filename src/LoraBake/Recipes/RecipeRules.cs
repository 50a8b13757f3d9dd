using System.Globalization;
using SixLabors.ImageSharp;

namespace LoraBake.Recipes;

/// <summary>What a rule decided: the (possibly normalised) value, or an error, and perhaps a warning.</summary>
internal readonly record struct RuleResult(object? Value, string? Error = null, string? Warning = null);

internal delegate RuleResult Rule(object? value);

/// <summary>
/// Allowed values and ranges per key path (`training.unet_lr`; list items as `dataset.subsets[].num_repeats`).
/// Ranges are the colab's sliders (trainer-spec §1.2) where it has one; messages state what is allowed.
/// </summary>
internal static class RecipeRules
{
    public static readonly string[] Schedulers =
        ["constant", "constant_with_warmup", "cosine", "cosine_with_restarts", "linear", "polynomial"];
    public static string[] Optimizers => Training.OptimizerFactory.Names;
    /// <summary>Offered by the colab's optimizer cell but not implemented here.</summary>
    public static readonly string[] UnsupportedOptimizers = ["SGDNesterov8bit", "Lion8bit", "PagedAdamW8bit"];
    public static readonly string[] Samplers = ["ddim", "euler", "euler_a", "dpmpp_2m_karras"];
    static readonly Dictionary<string, string> SamplerAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ddim"] = "ddim", ["euler"] = "euler", ["euler_a"] = "euler_a", ["dpmpp_2m_karras"] = "dpmpp_2m_karras",
        ["Euler a"] = "euler_a", ["k_euler_a"] = "euler_a", ["k_euler"] = "euler",
        ["DPM++ 2M Karras"] = "dpmpp_2m_karras", ["dpmsolver++_karras"] = "dpmpp_2m_karras",
    };

    public static readonly IReadOnlyDictionary<string, Rule> ByPath = new Dictionary<string, Rule>
    {
        ["dataset.resolution"] = v => v is int r && (r < 512 || r > 1024 || r % 128 != 0) && r is not (64 or 128 or 256)
            ? Err(v, "is not allowed; use 512, 640, 768, 896 or 1024 (512–1024 in steps of 128; 64, 128 or 256 for the toy world's builtin:toy-sd1)") : Ok(v),
        ["dataset.activation_tags"] = ActivationTags,
        ["dataset.num_repeats"] = IntRange(1, 10_000),
        ["dataset.min_bucket_reso"] = BucketReso,
        ["dataset.max_bucket_reso"] = BucketReso,
        ["dataset.bucket_reso_steps"] = v => v is int s && (s < 8 || s > 256 || s % 8 != 0)
            ? Err(v, "is not allowed; use a multiple of 8 from 8 to 256 (64 is usual)") : Ok(v),
        ["dataset.caption_dropout_rate"] = DoubleRange(0, 1),
        ["dataset.caption_tag_dropout_rate"] = DoubleRange(0, 1),
        ["dataset.caption_extension"] = v => v is string e && e.Length > 0 && !e.StartsWith('.')
            ? Err(v, "must start with a dot, like \".txt\" or \".caption\" (or be \"\" for no captions)") : Ok(v),
        ["dataset.background"] = v => v is string c && !Color.TryParse(c, out _)
            ? Err(v, "is not a colour; use a name (white, black, gray) or #RRGGBB") : Ok(v),
        ["dataset.max_image_pixels"] = LongRange(1, 1_000_000_000),
        ["dataset.path"] = NonEmpty,
        ["dataset.subsets[].path"] = NonEmpty,
        ["dataset.subsets[].num_repeats"] = IntRange(1, 10_000),
        ["dataset.subsets[].activation_tags"] = ActivationTags,
        ["dataset.subsets[].caption_extension"] = v => v is string e && e.Length > 0 && !e.StartsWith('.')
            ? Err(v, "must start with a dot, like \".txt\"") : Ok(v),

        ["training.how_many"] = IntRange(1, 1_000_000),
        ["training.save_every_n_epochs"] = IntRange(0, 10_000, "0 means only at the end"),
        ["training.keep_only_last_n_epochs"] = IntRange(0, 10_000, "0 means keep all"),
        ["training.train_batch_size"] = v => v is int b && (b < 1 || b > 64) ? Err(v, "is out of range; allowed 1–64 (the colab offers 1–8)")
            : v is int b2 && b2 > 8 ? new RuleResult(v, Warning: $"{b2} is above the colab's range 1–8; it needs much more memory and usually a higher learning rate") : Ok(v),
        ["training.unet_lr"] = v => v is double d && (d <= 0 || d > 10) ? Err(v, "is out of range; use a value above 0 and at most 10 (typical 1e-4–1e-3; 0.5–1 for Prodigy)") : Ok(v),
        ["training.text_encoder_lr"] = v => v is double d && (d < 0 || d > 10) ? Err(v, "is out of range; use 0 (train the UNet only) up to 10 (typical 5e-5–2e-4)") : Ok(v),
        ["training.lr_scheduler"] = OneOf(Schedulers),
        ["training.lr_scheduler_number"] = DoubleRange(0, 1000),
        ["training.lr_warmup_ratio"] = DoubleRange(0, 0.5),
        ["training.min_snr_gamma"] = v => v is double g && g <= 0 ? Err(v, "must be above 0 (5 is usual), or false to turn min-SNR weighting off") : Ok(v),
        ["training.noise_offset"] = DoubleRange(0, 1),
        ["training.clip_skip"] = IntRange(1, 12),
        ["training.max_token_length"] = v => v is int n && n != 75 && n != 150 && n != 225 ? Err(v, "is not allowed; use 75, 150 or 225") : Ok(v),
        ["training.save_precision"] = OneOf("fp16", "bf16", "float"),
        ["training.mixed_precision"] = OneOf("auto", "fp32", "bf16", "fp16"),
        ["training.optimizer"] = Optimizer,
        ["training.optimizer_args"] = v => v is IReadOnlyList<string> args && args.FirstOrDefault(a => !a.Contains('=')) is { } bad
            ? Err(bad, "is not a key=value pair; write optimizer arguments like weight_decay=0.1 or betas=[0.9,0.99]") : Ok(v),
        ["training.max_grad_norm"] = DoubleRange(0, 1000, "0 turns clipping off"),
        ["training.prior_loss_weight"] = DoubleRange(0, 100, "1 weighs regularisation images like training images"),
        ["training.continue_from_lora"] = v => v is string p && !p.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? Err(v, "must be a .safetensors file") : Ok(v),

        ["network.network_dim"] = IntRange(1, 128),
        ["network.network_alpha"] = DoubleRange(1, 128),
        ["network.conv_dim"] = IntRange(1, 64),
        ["network.conv_alpha"] = DoubleRange(1, 64),

        ["evaluation.prompts"] = v => v is IReadOnlyList<string> { Count: 0 } ? new(v, "is empty; write at least one prompt") : Ok(v),
        ["evaluation.seeds"] = v => v is IReadOnlyList<long> { Count: 0 } ? new(v, "is empty; write at least one seed") : Ok(v),
        ["evaluation.sampler"] = v => v is string s
            ? SamplerAliases.TryGetValue(s.Trim(), out var name) ? Ok(name)
                : Err(v, $"is not a supported sampler; use one of {string.Join(", ", Samplers)} (or the webui names \"Euler a\", \"Euler\", \"DDIM\", \"DPM++ 2M Karras\"){Hint(s, Samplers)}")
            : Ok(v),
        ["evaluation.steps"] = IntRange(1, 150),
        ["evaluation.cfg"] = DoubleRange(1, 30),
        ["evaluation.width"] = ImageSide,
        ["evaluation.height"] = ImageSide,
        ["evaluation.weights"] = v => v is IReadOnlyList<double> ws && ws.FirstOrDefault(w => w < 0 || w > 2, double.NaN) is var bad && !double.IsNaN(bad)
            ? Err(bad, "is out of range; LoRA weights must be 0–2") : v is IReadOnlyList<double> { Count: 0 } ? new(v, "is empty; write at least one weight") : Ok(v),
        ["evaluation.epochs"] = EvaluationEpochs,
    };

    static RuleResult Ok(object? v) => new(v);
    static RuleResult Err(object? v, string what) => new(v, $"{Show(v)} {what}");

    /// <summary>A value as the user would recognise it in their file.</summary>
    public static string Show(object? v) => v switch
    {
        null => "null",
        string s => $"\"{s}\"",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    static string Hint(string found, IEnumerable<string> allowed) =>
        KeyNames.Closest(found, allowed) is { } c ? $"; did you mean {c}?" : "";

    static Rule IntRange(long min, long max, string? note = null) => v => v switch
    {
        int i when i < min || i > max => Err(v, $"is out of range; allowed {min}–{max}{(note == null ? "" : $" ({note})")}"),
        _ => Ok(v),
    };

    static Rule LongRange(long min, long max) => v => v is long l && (l < min || l > max) ? Err(v, $"is out of range; allowed {min}–{max}") : Ok(v);

    static Rule DoubleRange(double min, double max, string? note = null) => v => v is double d && (d < min || d > max || double.IsNaN(d))
        ? Err(v, $"is out of range; allowed {Show(min)}–{Show(max)}{(note == null ? "" : $" ({note})")}") : Ok(v);

    static Rule OneOf(params string[] allowed) => v =>
    {
        if (v is not string s) return Ok(v);
        var match = allowed.FirstOrDefault(a => a.Equals(s.Trim(), StringComparison.OrdinalIgnoreCase));
        return match != null ? Ok(match) : Err(v, $"is not one of {string.Join(", ", allowed)}{Hint(s, allowed)}");
    };

    static RuleResult NonEmpty(object? v) => v is string { Length: 0 } ? Err(v, "must not be empty") : Ok(v);

    static RuleResult ActivationTags(object? v) => v switch
    {
        int n when n < 0 => Err(v, "is out of range; use 0 or more (the colab offers 0–3)"),
        int n when n > 3 => new RuleResult(v, Warning: $"{n} is above the colab's range 0–3; that many tags are never shuffled or dropped"),
        _ => Ok(v),
    };

    static RuleResult BucketReso(object? v) => v is int r && (r < 64 || r > 4096 || r % 64 != 0)
        ? Err(v, "is not allowed; use a multiple of 64 from 64 to 4096 (or leave it out for the colab's rule)") : Ok(v);

    static RuleResult ImageSide(object? v) => v is int s && (s < 64 || s > 2048 || s % 8 != 0)
        ? Err(v, "is not allowed; use a multiple of 8 from 64 to 2048") : Ok(v);

    static RuleResult Optimizer(object? v)
    {
        if (v is not string s) return Ok(v);
        var trimmed = s.Trim();
        if (Training.OptimizerFactory.Aliases.TryGetValue(trimmed, out var alias)) return Ok(alias);
        var name = Optimizers.FirstOrDefault(o => o.Equals(trimmed, StringComparison.OrdinalIgnoreCase));
        if (name != null) return Ok(name);
        if (UnsupportedOptimizers.Any(o => o.Equals(trimmed, StringComparison.OrdinalIgnoreCase)))
            return Err(v, $"is not supported yet; use one of {string.Join(", ", Optimizers)}");
        return Err(v, $"is not a known optimizer; use one of {string.Join(", ", Optimizers)}{Hint(s, Optimizers)}");
    }

    /// <summary>"all", "every N", or a list of epoch numbers "2,4,6".</summary>
    static RuleResult EvaluationEpochs(object? v)
    {
        if (v is not string s) return Ok(v);
        var t = s.Trim().ToLowerInvariant();
        if (t == "all") return Ok("all");
        if (t.StartsWith("every ", StringComparison.Ordinal) && int.TryParse(t[6..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
            return Ok($"every {n}");
        var parts = t.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var e) && e >= 1))
            return Ok(string.Join(",", parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture))));
        return Err(v, "is not allowed; use \"all\", \"every N\" (N ≥ 1) or epoch numbers like \"2,4,6\" or [2, 4, 6]");
    }
}
