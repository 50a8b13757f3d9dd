using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoraBake.Sampling;

/// <summary>
/// The AUTOMATIC1111 "infotext" stored in a PNG's <c>parameters</c> chunk, which webui's PNG Info tab, civitai and
/// most image browsers read:
/// <code>
/// PROMPT
/// Negative prompt: NEG
/// Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 6ce0161689, Model: name
/// </code>
/// Values holding ',', ':' or a newline are JSON-quoted, as webui's <c>quote()</c>; the negative line is left
/// out when empty. <see cref="Extra"/> holds further "Key: value" pairs (e.g. "Lora hashes") in order.
/// </summary>
public sealed record GenerationParameters(
    string Prompt, string NegativePrompt, int Steps, string Sampler, double CfgScale, long Seed, int Width, int Height,
    string? ModelHash = null, string? Model = null, IReadOnlyList<KeyValuePair<string, string>>? Extra = null)
{
    public string ToInfotext()
    {
        var pairs = new List<KeyValuePair<string, string>>
        {
            new("Steps", Steps.ToString(CultureInfo.InvariantCulture)),
            new("Sampler", Sampler),
            new("CFG scale", CfgScale.ToString("0.###", CultureInfo.InvariantCulture)),
            new("Seed", Seed.ToString(CultureInfo.InvariantCulture)),
            new("Size", $"{Width}x{Height}"),
        };
        if (ModelHash is not null) pairs.Add(new("Model hash", ModelHash));
        if (Model is not null) pairs.Add(new("Model", Model));
        if (Extra is not null) pairs.AddRange(Extra);

        var text = new StringBuilder(Prompt);
        if (NegativePrompt.Length > 0) text.Append("\nNegative prompt: ").Append(NegativePrompt);
        text.Append('\n').Append(string.Join(", ", pairs.Select(p => $"{p.Key}: {Quote(p.Value)}")));
        return text.ToString();
    }

    static string Quote(string value) =>
        value.Contains(',') || value.Contains('\n') || value.Contains(':') ? JsonSerializer.Serialize(value, QuoteOptions) : value;

    static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // webui's re_param: "Key: value" where value is a JSON string or runs to the next comma.
    static readonly Regex Param = new(@"\s*(\w[\w \-/]+):\s*(""(?:\\.|[^\\""])+""|[^,]*)(?:,|$)", RegexOptions.Compiled);

    /// <summary>
    /// Reads infotext back (webui's <c>parse_generation_parameters</c>): the last line is the parameter line when it
    /// holds at least three "Key: value" pairs; the lines before it are the prompt up to "Negative prompt:".
    /// Returns null when the required keys (Steps, Sampler, CFG scale, Seed, Size) are missing or malformed.
    /// </summary>
    public static GenerationParameters? Parse(string infotext)
    {
        var lines = infotext.Trim().Split('\n').ToList();
        if (lines.Count == 0) return null;
        var last = lines[^1];
        var matches = Param.Matches(last);
        if (matches.Count < 3) return null;
        lines.RemoveAt(lines.Count - 1);

        var prompt = new StringBuilder();
        var negative = new StringBuilder();
        bool inNegative = false;
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.StartsWith("Negative prompt:", StringComparison.Ordinal))
            {
                inNegative = true;
                line = line["Negative prompt:".Length..].Trim();
            }
            var target = inNegative ? negative : prompt;
            if (target.Length > 0) target.Append('\n');
            target.Append(line);
        }

        var values = new List<KeyValuePair<string, string>>();
        foreach (Match m in matches)
        {
            string v = m.Groups[2].Value.Trim();
            if (v.Length >= 2 && v[0] == '"' && v[^1] == '"')
            {
                try { v = JsonSerializer.Deserialize<string>(v) ?? v; } catch (JsonException) { }
            }
            values.Add(new(m.Groups[1].Value.Trim(), v));
        }
        string? Get(string key) => values.FirstOrDefault(p => p.Key == key).Value;

        var size = Get("Size")?.Split('x');
        if (!int.TryParse(Get("Steps"), NumberStyles.Integer, CultureInfo.InvariantCulture, out int steps)
            || Get("Sampler") is not { } sampler
            || !double.TryParse(Get("CFG scale"), NumberStyles.Float, CultureInfo.InvariantCulture, out double cfg)
            || !long.TryParse(Get("Seed"), NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed)
            || size is not { Length: 2 }
            || !int.TryParse(size[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int width)
            || !int.TryParse(size[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int height))
            return null;

        string[] known = ["Steps", "Sampler", "CFG scale", "Seed", "Size", "Model hash", "Model"];
        var extra = values.Where(p => !known.Contains(p.Key)).ToArray();
        return new GenerationParameters(prompt.ToString(), negative.ToString(), steps, sampler, cfg, seed, width, height,
            Get("Model hash"), Get("Model"), extra.Length > 0 ? extra : null);
    }
}
