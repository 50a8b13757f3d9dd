using System.Globalization;
using System.Text.Json.Nodes;
using SixLabors.ImageSharp;

namespace LoraBake.Recipes;

/// <summary>
/// The rule library of the recipe schema: ranges, allowed values and the checks that need more than a range, each
/// made as a <see cref="SettingConstraint"/> (the check and its JSON Schema together). Which setting has which rule
/// is <see cref="RecipeSchema"/>'s table. Ranges are the colab's sliders where it has one; messages say what is allowed.
/// </summary>
internal static class RecipeRules
{
    /// <summary>The schedulers Training implements, by kohya's names, sorted.</summary>
    public static readonly string[] Schedulers = LrSchedulers.Names;
    public static string[] Optimizers => OptimizerNames.All;
    /// <summary>Offered by the colab's optimizer cell but not implemented here.</summary>
    public static readonly string[] UnsupportedOptimizers = ["SGDNesterov8bit", "Lion8bit", "PagedAdamW8bit"];
    public static readonly string[] Samplers = ["ddim", "euler", "euler_a", "dpmpp_2m_karras"];
    static readonly Dictionary<string, string> SamplerAliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ddim"] = "ddim", ["euler"] = "euler", ["euler_a"] = "euler_a", ["dpmpp_2m_karras"] = "dpmpp_2m_karras",
        ["Euler a"] = "euler_a", ["k_euler_a"] = "euler_a", ["k_euler"] = "euler",
        ["DPM++ 2M Karras"] = "dpmpp_2m_karras", ["dpmsolver++_karras"] = "dpmpp_2m_karras",
    };

    // ---- Ranges and lists of allowed values -------------------------------------------------------------------

    public static SettingConstraint IntRange(long min, long max, string? note = null) => new(
        v => v is int i && (i < min || i > max) ? Err(v, $"is out of range; allowed {min}–{max}{Note(note)}") : Ok(v),
        new JsonObject { ["minimum"] = min, ["maximum"] = max });

    public static SettingConstraint LongRange(long min, long max) => new(
        v => v is long l && (l < min || l > max) ? Err(v, $"is out of range; allowed {min}–{max}") : Ok(v),
        new JsonObject { ["minimum"] = min, ["maximum"] = max });

    public static SettingConstraint DoubleRange(double min, double max, string? note = null) => new(
        v => v is double d && (d < min || d > max || double.IsNaN(d)) ? Err(v, $"is out of range; allowed {Show(min)}–{Show(max)}{Note(note)}") : Ok(v),
        new JsonObject { ["minimum"] = min, ["maximum"] = max });

    /// <summary>One of <paramref name="allowed"/>, any case; the value becomes the listed spelling.</summary>
    public static SettingConstraint OneOf(params string[] allowed) => new(v =>
        {
            if (v is not string s) return Ok(v);
            var match = allowed.FirstOrDefault(a => a.Equals(s.Trim(), StringComparison.OrdinalIgnoreCase));
            return match != null ? Ok(match) : Err(v, $"is not one of {string.Join(", ", allowed)}{Hint(s, allowed)}");
        },
        new JsonObject { ["enum"] = Strings(allowed) });

    public static readonly SettingConstraint NonEmpty = new(
        v => v is string { Length: 0 } ? Err(v, "must not be empty") : Ok(v),
        new JsonObject { ["minLength"] = 1 });

    // ---- Settings whose rule is more than a range ---------------------------------------------------------------

    public static readonly SettingConstraint Device = new(
        v => v is string d && Runtime.ComputeDevice.Problem(d) is { } problem ? Err(v, problem) : Ok(v is string s ? s.Trim().ToLowerInvariant() : v),
        new JsonObject { ["pattern"] = "^(auto|cpu|cuda|cuda:[0-9]+)$" });

    public static readonly SettingConstraint Resolution = new(
        v => v is int r && (r < 512 || r > 1024 || r % 128 != 0) && r is not (64 or 128 or 256)
            ? Err(v, "is not allowed; use 512, 640, 768, 896 or 1024 (512–1024 in steps of 128; 64, 128 or 256 for the toy world's builtin:toy-sd1)") : Ok(v),
        new JsonObject { ["enum"] = new JsonArray(64, 128, 256, 512, 640, 768, 896, 1024) });

    public static readonly SettingConstraint ActivationTags = new(v => v switch
        {
            int n when n < 0 => Err(v, "is out of range; use 0 or more (the colab offers 0–3)"),
            int n when n > 3 => new RuleResult(v, Warning: $"{n} is above the colab's range 0–3; that many tags are never shuffled or dropped"),
            _ => Ok(v),
        },
        new JsonObject { ["minimum"] = 0 });

    public static readonly SettingConstraint BucketReso = new(
        v => v is int r && (r < 64 || r > 4096 || r % 64 != 0) ? Err(v, "is not allowed; use a multiple of 64 from 64 to 4096 (or leave it out for the colab's rule)") : Ok(v),
        new JsonObject { ["minimum"] = 64, ["maximum"] = 4096, ["multipleOf"] = 64 });

    public static readonly SettingConstraint BucketResoSteps = new(
        v => v is int s && (s < 8 || s > 256 || s % 8 != 0) ? Err(v, "is not allowed; use a multiple of 8 from 8 to 256 (64 is usual)") : Ok(v),
        new JsonObject { ["minimum"] = 8, ["maximum"] = 256, ["multipleOf"] = 8 });

    /// <summary>A caption file extension: ".txt", ".caption", or "" for no captions.</summary>
    public static SettingConstraint CaptionExtension(string example) => new(
        v => v is string e && e.Length > 0 && !e.StartsWith('.') ? Err(v, $"must start with a dot, like {example}") : Ok(v),
        new JsonObject { ["pattern"] = "^(\\..*)?$" });

    public static readonly SettingConstraint Colour = new(
        v => v is string c && !Color.TryParse(c, out _) ? Err(v, "is not a colour; use a name (white, black, gray) or #RRGGBB") : Ok(v),
        []);

    public static readonly SettingConstraint TrainBatchSize = new(
        v => v is int b && (b < 1 || b > 64) ? Err(v, "is out of range; allowed 1–64 (the colab offers 1–8)")
            : v is int b2 && b2 > 8 ? new RuleResult(v, Warning: $"{b2} is above the colab's range 1–8; it needs much more memory and usually a higher learning rate") : Ok(v),
        new JsonObject { ["minimum"] = 1, ["maximum"] = 64 });

    public static readonly SettingConstraint UnetLr = new(
        v => v is double d && (d <= 0 || d > 10) ? Err(v, "is out of range; use a value above 0 and at most 10 (typical 1e-4–1e-3; 0.5–1 for Prodigy)") : Ok(v),
        new JsonObject { ["exclusiveMinimum"] = 0, ["maximum"] = 10 });

    public static readonly SettingConstraint TextEncoderLr = new(
        v => v is double d && (d < 0 || d > 10) ? Err(v, "is out of range; use 0 (train the UNet only) up to 10 (typical 5e-5–2e-4)") : Ok(v),
        new JsonObject { ["minimum"] = 0, ["maximum"] = 10 });

    /// <summary>A number above 0, or the colab's checkbox: true means 5, false turns it off (RecipeBinder reads the checkbox).</summary>
    public static readonly SettingConstraint MinSnrGamma = new(
        v => v is double g && g <= 0 ? Err(v, "must be above 0 (5 is usual), or false to turn min-SNR weighting off") : Ok(v),
        new JsonObject { ["type"] = Strings("number", "boolean", "null"), ["exclusiveMinimum"] = 0 });

    public static readonly SettingConstraint MaxTokenLength = new(
        v => v is int n && n != 75 && n != 150 && n != 225 ? Err(v, "is not allowed; use 75, 150 or 225") : Ok(v),
        new JsonObject { ["enum"] = new JsonArray(75, 150, 225) });

    public static readonly SettingConstraint Optimizer = new(v =>
        {
            if (v is not string s) return Ok(v);
            var trimmed = s.Trim();
            if (OptimizerNames.Aliases.TryGetValue(trimmed, out var alias)) return Ok(alias);
            var name = Optimizers.FirstOrDefault(o => o.Equals(trimmed, StringComparison.OrdinalIgnoreCase));
            if (name != null) return Ok(name);
            if (UnsupportedOptimizers.Any(o => o.Equals(trimmed, StringComparison.OrdinalIgnoreCase)))
                return Err(v, $"is not supported yet; use one of {string.Join(", ", Optimizers)}");
            return Err(v, $"is not a known optimizer; use one of {string.Join(", ", Optimizers)}{Hint(s, Optimizers)}");
        },
        new JsonObject { ["enum"] = Strings([.. Optimizers, .. OptimizerNames.Aliases.Keys.Order(StringComparer.Ordinal)]) });

    public static readonly SettingConstraint OptimizerArgs = new(
        v => v is IReadOnlyList<string> args && args.FirstOrDefault(a => !a.Contains('=')) is { } bad
            ? Err(bad, "is not a key=value pair; write optimizer arguments like weight_decay=0.1 or betas=[0.9,0.99]") : Ok(v),
        new JsonObject { ["items"] = new JsonObject { ["pattern"] = "=" } });

    public static readonly SettingConstraint SafetensorsFile = new(
        v => v is string p && !p.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? Err(v, "must be a .safetensors file") : Ok(v),
        new JsonObject { ["pattern"] = "\\.safetensors$" });

    public static readonly SettingConstraint Prompts = new(
        v => v is IReadOnlyList<string> { Count: 0 } ? new(v, "is empty; write at least one prompt") : Ok(v),
        new JsonObject { ["minItems"] = 1 });

    public static readonly SettingConstraint Seeds = new(
        v => v is IReadOnlyList<long> { Count: 0 } ? new(v, "is empty; write at least one seed") : Ok(v),
        new JsonObject { ["minItems"] = 1 });

    public static readonly SettingConstraint Sampler = new(
        v => v is string s
            ? SamplerAliases.TryGetValue(s.Trim(), out var name) ? Ok(name)
                : Err(v, $"is not a supported sampler; use one of {string.Join(", ", Samplers)} (or the webui names \"Euler a\", \"Euler\", \"DDIM\", \"DPM++ 2M Karras\"){Hint(s, Samplers)}")
            : Ok(v),
        new JsonObject { ["enum"] = Strings([.. SamplerAliases.Keys, "Euler", "DDIM"]) });

    public static readonly SettingConstraint ImageSide = new(
        v => v is int s && (s < 64 || s > 2048 || s % 8 != 0) ? Err(v, "is not allowed; use a multiple of 8 from 64 to 2048") : Ok(v),
        new JsonObject { ["minimum"] = 64, ["maximum"] = 2048, ["multipleOf"] = 8 });

    public static readonly SettingConstraint LoraWeights = new(
        v => v is IReadOnlyList<double> ws && ws.FirstOrDefault(w => w < 0 || w > 2, double.NaN) is var bad && !double.IsNaN(bad)
            ? Err(bad, "is out of range; LoRA weights must be 0–2") : v is IReadOnlyList<double> { Count: 0 } ? new(v, "is empty; write at least one weight") : Ok(v),
        new JsonObject { ["minItems"] = 1, ["items"] = new JsonObject { ["minimum"] = 0, ["maximum"] = 2 } });

    /// <summary>"all", "every N", or a list of epoch numbers "2,4,6" (or a YAML list, which RecipeBinder joins).</summary>
    public static readonly SettingConstraint EvaluationEpochs = new(v =>
        {
            if (v is not string s) return Ok(v);
            var text = s.Trim().ToLowerInvariant();
            if (text == "all") return Ok("all");
            if (text.StartsWith("every ", StringComparison.Ordinal) && int.TryParse(text[6..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var every) && every >= 1)
                return Ok($"every {every}");
            var parts = text.Split(',', StringSplitOptions.TrimEntries);
            if (parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var e) && e >= 1))
                return Ok(string.Join(",", parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture))));
            return Err(v, "is not allowed; use \"all\", \"every N\" (N ≥ 1) or epoch numbers like \"2,4,6\" or [2, 4, 6]");
        },
        new JsonObject
        {
            ["type"] = Strings("string", "array"),
            ["pattern"] = "^(all|every [1-9][0-9]*|[0-9]+( *, *[0-9]+)*)$",
            ["items"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 },
        });

    // ---- Helpers ------------------------------------------------------------------------------------------------

    static RuleResult Ok(object? v) => new(v);
    static RuleResult Err(object? v, string what) => new(v, $"{Show(v)} {what}");
    static string Note(string? note) => note == null ? "" : $" ({note})";
    static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

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
}
