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
    static readonly (string Ldm, string Diffusers)[] Attention =
    {
        ("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0."),
    };

    /// <summary>diffusers before 0.17 named the attention projections differently; normalised on load.</summary>
    static readonly (string Old, string New)[] LegacyDiffusers =
    {
        ("query.", "to_q."), ("key.", "to_k."), ("value.", "to_v."), ("proj_attn.", "to_out.0."),
    };

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)\.(\d+)\.(block\.(\d+)|downsample|upsample)\.(.*)$")]
    private static partial Regex LdmLevel();

    [GeneratedRegex(@"^(encoder|decoder)\.(down|up)_blocks\.(\d+)\.(resnets\.(\d+)|downsamplers\.0|upsamplers\.0)\.(.*)$")]
    private static partial Regex DiffusersLevel();

    /// <summary>True when the keys look like a diffusers-layout VAE (else ldm).</summary>
    public static bool IsDiffusersLayout(IEnumerable<string> keys) =>
        keys.Any(k => k.StartsWith("encoder.down_blocks.", StringComparison.Ordinal) || k.StartsWith("encoder.mid_block.", StringComparison.Ordinal));

    public static Dictionary<string, Tensor> ToDiffusers(IReadOnlyDictionary<string, Tensor> ldm, string source)
    {
        var levels = ldm.Keys.Select(k => LdmLevel().Match(k)).Where(m => m.Success && m.Groups[1].Value == "decoder")
            .Select(m => int.Parse(m.Groups[3].Value)).DefaultIfEmpty(-1).Max() + 1;
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in ldm)
        {
            var (name, isAttnWeight) = LdmToDiffusers(key, levels, source);
            result[name] = isAttnWeight && t.dim() == 4 ? t.squeeze(-1).squeeze(-1) : t;
        }
        return result;
    }

    static (string Name, bool AttnWeight) LdmToDiffusers(string key, int levels, string source)
    {
        if (key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal)) return (key, false);
        var dot = key.IndexOf('.');
        if (dot > 0 && key[..dot] is "encoder" or "decoder")
        {
            var part = key[..dot];
            var rest = key[(dot + 1)..];
            if (rest.StartsWith("conv_in.", StringComparison.Ordinal) || rest.StartsWith("conv_out.", StringComparison.Ordinal)) return (key, false);
            if (rest.StartsWith("norm_out.", StringComparison.Ordinal)) return ($"{part}.conv_norm_out.{rest[9..]}", false);
            if (rest.StartsWith("mid.block_1.", StringComparison.Ordinal)) return ($"{part}.mid_block.resnets.0.{Shortcut(rest[12..])}", false);
            if (rest.StartsWith("mid.block_2.", StringComparison.Ordinal)) return ($"{part}.mid_block.resnets.1.{Shortcut(rest[12..])}", false);
            if (rest.StartsWith("mid.attn_1.", StringComparison.Ordinal))
            {
                var a = rest[11..];
                foreach (var (l, d) in Attention)
                    if (a.StartsWith(l, StringComparison.Ordinal))
                        return ($"{part}.mid_block.attentions.0.{d}{a[l.Length..]}", l != "norm." && a.EndsWith("weight", StringComparison.Ordinal));
            }
            var m = LdmLevel().Match(key);
            if (m.Success)
            {
                var level = int.Parse(m.Groups[3].Value);
                var tail = m.Groups[6].Value;
                var (blocks, i) = part == "encoder" ? ("down_blocks", level) : ("up_blocks", levels - 1 - level);
                if (m.Groups[5].Success) return ($"{part}.{blocks}.{i}.resnets.{m.Groups[5].Value}.{Shortcut(tail)}", false);
                var sampler = part == "encoder" ? "downsamplers" : "upsamplers";
                return ($"{part}.{blocks}.{i}.{sampler}.0.{tail}", false);
            }
        }
        throw new UserError($"{source}: VAE key '{key}' does not fit the SD 1.x AutoencoderKL layout; is this really a VAE of an SD 1.x model?");
    }

    static string Shortcut(string rest) => rest.StartsWith("nin_shortcut.", StringComparison.Ordinal) ? "conv_shortcut." + rest[13..] : rest;

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

    public static Dictionary<string, Tensor> ToLdm(IReadOnlyDictionary<string, Tensor> diffusers, string source)
    {
        var levels = diffusers.Keys.Select(k => DiffusersLevel().Match(k)).Where(m => m.Success && m.Groups[1].Value == "decoder")
            .Select(m => int.Parse(m.Groups[3].Value)).DefaultIfEmpty(-1).Max() + 1;
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in diffusers)
        {
            var (name, isAttnWeight) = DiffusersToLdm(key, levels, source);
            result[name] = isAttnWeight && t.dim() == 2 ? t.unsqueeze(-1).unsqueeze(-1) : t;
        }
        return result;
    }

    static (string Name, bool AttnWeight) DiffusersToLdm(string key, int levels, string source)
    {
        if (key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal)) return (key, false);
        var dot = key.IndexOf('.');
        if (dot > 0 && key[..dot] is "encoder" or "decoder")
        {
            var part = key[..dot];
            var rest = key[(dot + 1)..];
            if (rest.StartsWith("conv_in.", StringComparison.Ordinal) || rest.StartsWith("conv_out.", StringComparison.Ordinal)) return (key, false);
            if (rest.StartsWith("conv_norm_out.", StringComparison.Ordinal)) return ($"{part}.norm_out.{rest[14..]}", false);
            if (rest.StartsWith("mid_block.resnets.0.", StringComparison.Ordinal)) return ($"{part}.mid.block_1.{NinShortcut(rest[20..])}", false);
            if (rest.StartsWith("mid_block.resnets.1.", StringComparison.Ordinal)) return ($"{part}.mid.block_2.{NinShortcut(rest[20..])}", false);
            if (rest.StartsWith("mid_block.attentions.0.", StringComparison.Ordinal))
            {
                var a = rest[23..];
                foreach (var (l, d) in Attention)
                    if (a.StartsWith(d, StringComparison.Ordinal))
                        return ($"{part}.mid.attn_1.{l}{a[d.Length..]}", l != "norm." && a.EndsWith("weight", StringComparison.Ordinal));
            }
            var m = DiffusersLevel().Match(key);
            if (m.Success)
            {
                var i = int.Parse(m.Groups[3].Value);
                var tail = m.Groups[6].Value;
                var (blocks, level) = part == "encoder" ? ("down", i) : ("up", levels - 1 - i);
                if (m.Groups[5].Success) return ($"{part}.{blocks}.{level}.block.{m.Groups[5].Value}.{NinShortcut(tail)}", false);
                return ($"{part}.{blocks}.{level}.{(part == "encoder" ? "downsample" : "upsample")}.{tail}", false);
            }
        }
        throw new UserError($"{source}: VAE key '{key}' is not a diffusers AutoencoderKL key.");
    }

    static string NinShortcut(string rest) => rest.StartsWith("conv_shortcut.", StringComparison.Ordinal) ? "nin_shortcut." + rest[14..] : rest;
}
