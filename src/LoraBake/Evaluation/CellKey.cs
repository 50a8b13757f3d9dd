using System.Globalization;
using System.Text;
using System.Text.Json;
using LoraBake.Pipeline;

namespace LoraBake.Evaluation;

/// <summary>
/// The cache key of one render: SHA-256 (lower-case hex) of this canonical UTF-8 text, one `name=value` line
/// per field, in this order, each ending in "\n":
/// <code>
/// lorabake-cell-v1
/// model=&lt;model identity&gt;        the base model's hash plus anything else the renderer depends on
/// lora=&lt;LoRA file sha256&gt;|baseline
/// weight=&lt;R-format double&gt;|none   (none for the baseline)
/// prompt=&lt;JSON string&gt;
/// negative=&lt;JSON string&gt;
/// seed=&lt;integer&gt;
/// sampler=&lt;JSON string&gt;
/// steps=&lt;integer&gt;
/// cfg=&lt;R-format double&gt;
/// width=&lt;integer&gt;
/// height=&lt;integer&gt;
/// prompt_loras=&lt;JSON string&gt;     only when the prompt has &lt;lora:NAME:W&gt; tags: NAME=sha256 of each file
/// batch=&lt;seeds, comma-separated&gt;  only when the render shares a UNet batch with other seeds (<see cref="SeedBatches"/>)
/// </code>
/// Strings are JSON-encoded so no value can forge a line; doubles use .NET's round-trip "R" form. The key
/// depends only on the render, not on its place in a grid, so adding an epoch or a weight adds keys and keeps
/// every existing one, and the baseline renders once however many rows show it. A render alone (batch of one) has
/// no batch line, so its key is the one it had before seeds were batched.
/// </summary>
public static class CellKey
{
    public const string Version = "lorabake-cell-v1";

    /// <param name="promptLoras">The prompt's own LoRA files by content (<see cref="PromptLoras.KeyOf"/>); null when it names none,
    /// so keys of prompts without tags are unchanged.</param>
    /// <param name="batch">The seeds rendered in one UNet batch with this one (<see cref="SeedBatches.Of"/>); null or one seed: alone.</param>
    public static string Canonical(string modelIdentity, string? loraSha256, RenderRequest r, string? promptLoras = null,
        IReadOnlyList<long>? batch = null)
    {
        if (batch is { Count: > 1 } && !batch.Contains(r.Seed))
            throw new ArgumentException($"seed {r.Seed} is not in its batch [{string.Join(",", batch)}]");
        if (r.IsBaseline != (loraSha256 is null))
            throw new ArgumentException(r.IsBaseline ? "A baseline render has no LoRA file." : "A LoRA render needs its file's hash.");
        var sb = new StringBuilder();
        void Line(string name, string value) => sb.Append(name).Append('=').Append(value).Append('\n');
        sb.Append(Version).Append('\n');
        Line("model", Json(modelIdentity));
        Line("lora", loraSha256 ?? "baseline");
        Line("weight", r.IsBaseline ? "none" : Num(r.Weight));
        Line("prompt", Json(r.Prompt));
        Line("negative", Json(r.NegativePrompt));
        Line("seed", r.Seed.ToString(CultureInfo.InvariantCulture));
        Line("sampler", Json(r.Sampler));
        Line("steps", r.Steps.ToString(CultureInfo.InvariantCulture));
        Line("cfg", Num(r.Cfg));
        Line("width", r.Width.ToString(CultureInfo.InvariantCulture));
        Line("height", r.Height.ToString(CultureInfo.InvariantCulture));
        if (promptLoras != null) Line("prompt_loras", Json(promptLoras));
        if (batch is { Count: > 1 }) Line("batch", string.Join(",", batch.Select(s => s.ToString(CultureInfo.InvariantCulture))));
        return sb.ToString();
    }

    /// <param name="modelIdentity">The base model's SHA-256, joined with anything else that changes pixels (VAE hash, clip skip).</param>
    /// <param name="loraSha256">The epoch file's SHA-256; null for the baseline.</param>
    public static string Compute(string modelIdentity, string? loraSha256, RenderRequest r) =>
        Hashing.Sha256Text(Canonical(modelIdentity, loraSha256, r));

    static string Json(string s) => JsonSerializer.Serialize(s);
    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
