using System.Text.RegularExpressions;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// AutoencoderKL key names: original (ldm, `encoder.down.i.block.j`, `mid.attn_1.q` as 1×1 convs) ↔ diffusers
/// (`encoder.down_blocks.i.resnets.j`, `mid_block.attentions.0.to_q` as Linear). The decoder's levels run in
/// opposite orders in the two layouts. Keys here carry no `first_stage_model.` prefix.
/// </summary>
public static partial class VaeKeyMap
{
    enum Part { Plain, Resnet, AttentionProjection }

    /// <summary>
    /// The fixed names under <c>encoder.</c>/<c>decoder.</c> in both layouts: one table, read left to right by
    /// <see cref="ToDiffusers"/> and right to left by <see cref="ToLdm"/>. A resnet's shortcut is renamed too; an
    /// attention projection's weight is a 1×1 conv in ldm and a Linear in diffusers.
    /// </summary>
    static readonly (string Ldm, string Diffusers, Part Part)[] Fixed =
    {
        ("conv_in.", "conv_in.", Part.Plain), ("conv_out.", "conv_out.", Part.Plain), ("norm_out.", "conv_norm_out.", Part.Plain),
        ("mid.block_1.", "mid_block.resnets.0.", Part.Resnet), ("mid.block_2.", "mid_block.resnets.1.", Part.Resnet),
        ("mid.attn_1.norm.", "mid_block.attentions.0.group_norm.", Part.Plain),
        ("mid.attn_1.q.", "mid_block.attentions.0.to_q.", Part.AttentionProjection),
        ("mid.attn_1.k.", "mid_block.attentions.0.to_k.", Part.AttentionProjection),
        ("mid.attn_1.v.", "mid_block.attentions.0.to_v.", Part.AttentionProjection),
        ("mid.attn_1.proj_out.", "mid_block.attentions.0.to_out.0.", Part.AttentionProjection),
    };

    /// <summary>How a layout names one level's blocks, its resnets and its down/upsampler.</summary>
    sealed record LevelNames(string Blocks, string Resnets, string Sampler);

    /// <summary>One side of the map: how it names levels (encoder, decoder), and its level and shortcut names.</summary>
    sealed record Layout(Func<Regex> Level, LevelNames Encoder, LevelNames Decoder, string Shortcut);

    static readonly Layout Ldm = new(LdmLevel, new("down", "block", "downsample"), new("up", "block", "upsample"), "nin_shortcut.");
    static readonly Layout Diffusers = new(DiffusersLevel, new("down_blocks", "resnets", "downsamplers.0"), new("up_blocks", "resnets", "upsamplers.0"), "conv_shortcut.");

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)\.(\d+)\.(block\.(\d+)|downsample|upsample)\.(.*)$")]
    private static partial Regex LdmLevel();

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)_blocks\.(\d+)\.(resnets\.(\d+)|downsamplers\.0|upsamplers\.0)\.(.*)$")]
    private static partial Regex DiffusersLevel();

    /// <summary>True when the keys look like a diffusers-layout VAE (else ldm).</summary>
    public static bool IsDiffusersLayout(IEnumerable<string> keys) =>
        keys.Any(k => k.StartsWith("encoder.down_blocks.", StringComparison.Ordinal) || k.StartsWith("encoder.mid_block.", StringComparison.Ordinal));

    public static Dictionary<string, Tensor> ToDiffusers(IReadOnlyDictionary<string, Tensor> ldm, string source) =>
        Convert(ldm, Ldm, Diffusers, (t, isAttnWeight) => isAttnWeight && t.dim() == 4 ? t.squeeze(-1).squeeze(-1) : t,
                key => $"{source}: VAE key '{key}' does not fit the SD 1.x AutoencoderKL layout; is this really a VAE of an SD 1.x model?");

    public static Dictionary<string, Tensor> ToLdm(IReadOnlyDictionary<string, Tensor> diffusers, string source) =>
        Convert(diffusers, Diffusers, Ldm, (t, isAttnWeight) => isAttnWeight && t.dim() == 2 ? t.unsqueeze(-1).unsqueeze(-1) : t,
                key => $"{source}: VAE key '{key}' is not a diffusers AutoencoderKL key.");

    static Dictionary<string, Tensor> Convert(IReadOnlyDictionary<string, Tensor> tensors, Layout from, Layout to,
        Func<Tensor, bool, Tensor> reshapeAttention, Func<string, string> unknownKey)
    {
        var levels = tensors.Keys.Select(k => from.Level().Match(k)).Where(m => m.Success && m.Groups[1].Value == "decoder")
            .Select(m => int.Parse(m.Groups[3].Value)).DefaultIfEmpty(-1).Max() + 1;
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in tensors)
        {
            var (name, isAttnWeight) = Rename(key, levels, from, to) ?? throw new UserError(unknownKey(key));
            result[name] = reshapeAttention(t, isAttnWeight);
        }
        return result;
    }

    /// <summary>The key in the other layout, and whether it is an attention projection's weight; null when it is no VAE key.</summary>
    static (string Name, bool AttnWeight)? Rename(string key, int levels, Layout from, Layout to)
    {
        if (key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal)) return (key, false);
        var dot = key.IndexOf('.');
        if (dot > 0 && key[..dot] is "encoder" or "decoder")
        {
            var part = key[..dot];
            var rest = key[(dot + 1)..];
            foreach (var (ldm, diffusers, kind) in Fixed)
            {
                var (prefix, renamed) = ReferenceEquals(from, Ldm) ? (ldm, diffusers) : (diffusers, ldm);
                if (!rest.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var tail = rest[prefix.Length..];
                return kind switch
                {
                    Part.Resnet => ($"{part}.{renamed}{Shortcut(tail, from, to)}", false),
                    Part.AttentionProjection => ($"{part}.{renamed}{tail}", tail.EndsWith("weight", StringComparison.Ordinal)),
                    _ => ($"{part}.{renamed}{tail}", false),
                };
            }
            var m = from.Level().Match(key);
            if (m.Success)
            {
                var encoder = part == "encoder";
                var index = int.Parse(m.Groups[3].Value);
                // The decoder's levels run in opposite orders in the two layouts.
                var level = encoder ? index : levels - 1 - index;
                var tail = m.Groups[6].Value;
                var names = encoder ? to.Encoder : to.Decoder;
                if (m.Groups[5].Success) return ($"{part}.{names.Blocks}.{level}.{names.Resnets}.{m.Groups[5].Value}.{Shortcut(tail, from, to)}", false);
                return ($"{part}.{names.Blocks}.{level}.{names.Sampler}.{tail}", false);
            }
        }
        return null;
    }

    static string Shortcut(string rest, Layout from, Layout to) =>
        rest.StartsWith(from.Shortcut, StringComparison.Ordinal) ? to.Shortcut + rest[from.Shortcut.Length..] : rest;

    /// <summary>diffusers before 0.17 named the attention projections differently; normalised on load.</summary>
    static readonly (string Old, string New)[] LegacyDiffusers =
    {
        ("query.", "to_q."), ("key.", "to_k."), ("value.", "to_v."), ("proj_attn.", "to_out.0."),
    };

    /// <summary>Renames pre-0.17 diffusers attention keys (`query`, `proj_attn`...) and squeezes 1×1-conv attention weights.</summary>
    public static Dictionary<string, Tensor> NormalizeDiffusers(IReadOnlyDictionary<string, Tensor> diffusers)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in diffusers)
        {
            var name = key;
            var at = key.IndexOf("mid_block.attentions.0.", StringComparison.Ordinal);
            if (at >= 0)
            {
                var start = at + "mid_block.attentions.0.".Length;
                foreach (var (o, n) in LegacyDiffusers)
                    if (key.AsSpan(start).StartsWith(o, StringComparison.Ordinal)) name = key[..start] + n + key[(start + o.Length)..];
            }
            var isProj = at >= 0 && !name.Contains(".group_norm.") && name.EndsWith(".weight", StringComparison.Ordinal);
            result[name] = isProj && t.dim() == 4 ? t.squeeze(-1).squeeze(-1) : t;
        }
        return result;
    }
}
