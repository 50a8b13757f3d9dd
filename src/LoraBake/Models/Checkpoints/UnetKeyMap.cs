using System.Text.RegularExpressions;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// SD 1.x UNet key names: original (ldm, `input_blocks.N.M.…`) ↔ diffusers (`down_blocks.i.resnets.j.…`), the rules
/// of diffusers' and kohya's conversion scripts. Level count and res blocks per level are read from the keys, so
/// the rules hold for any SD1-shaped UNet, not only the four-level 320/640/1280 one. Tensors are not copied.
/// Keys here carry no `model.diffusion_model.` prefix.
/// </summary>
public static partial class UnetKeyMap
{
    static readonly (string Ldm, string Diffusers)[] Resnet =
    {
        ("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("out_layers.0.", "norm2."),
        ("out_layers.3.", "conv2."), ("emb_layers.1.", "time_emb_proj."), ("skip_connection.", "conv_shortcut."),
    };

    static readonly (string Ldm, string Diffusers)[] Fixed =
    {
        ("time_embed.0.", "time_embedding.linear_1."), ("time_embed.2.", "time_embedding.linear_2."),
        ("input_blocks.0.0.", "conv_in."), ("out.0.", "conv_norm_out."), ("out.2.", "conv_out."),
        ("middle_block.0.", "mid_block.resnets.0."), ("middle_block.1.", "mid_block.attentions.0."),
        ("middle_block.2.", "mid_block.resnets.1."),
    };

    [GeneratedRegex(@"^(input|output)_blocks\.(\d+)\.(\d+)\.(.*)$")]
    private static partial Regex LdmBlock();

    [GeneratedRegex(@"^(down|up)_blocks\.(\d+)\.(resnets|attentions|downsamplers|upsamplers)\.(\d+)\.(.*)$")]
    private static partial Regex DiffusersBlock();

    /// <summary>Resnet blocks per down level (ldm's num_res_blocks), read from ldm keys.</summary>
    static int LdmLayersPerBlock(IEnumerable<string> keys)
    {
        // The first downsampler sits at input_blocks[L + 1]; a one-level UNet has none, and then L = last input index.
        int firstDown = int.MaxValue, lastInput = 0;
        foreach (var k in keys)
        {
            var m = LdmBlock().Match(k);
            if (!m.Success || m.Groups[1].Value != "input") continue;
            var idx = int.Parse(m.Groups[2].Value);
            lastInput = Math.Max(lastInput, idx);
            if (m.Groups[4].Value.StartsWith("op.", StringComparison.Ordinal)) firstDown = Math.Min(firstDown, idx);
        }
        return firstDown == int.MaxValue ? lastInput : firstDown - 1;
    }

    public static Dictionary<string, Tensor> ToDiffusers(IReadOnlyDictionary<string, Tensor> ldm, string source)
    {
        var per = LdmLayersPerBlock(ldm.Keys) + 1;
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in ldm)
            result[LdmToDiffusers(key, per, source)] = t;
        return result;
    }

    static string LdmToDiffusers(string key, int per, string source)
    {
        foreach (var (l, d) in Fixed)
            if (key.StartsWith(l, StringComparison.Ordinal))
                return d + (l.StartsWith("middle_block.0") || l.StartsWith("middle_block.2") ? RenameResnet(key[l.Length..]) : key[l.Length..]);
        var m = LdmBlock().Match(key);
        if (m.Success)
        {
            var k = int.Parse(m.Groups[2].Value);
            var sub = int.Parse(m.Groups[3].Value);
            var rest = m.Groups[4].Value;
            if (m.Groups[1].Value == "input" && k > 0)
            {
                int i = (k - 1) / per, j = (k - 1) % per;
                if (j < per - 1 && sub == 0) return $"down_blocks.{i}.resnets.{j}.{RenameResnet(rest)}";
                if (j < per - 1 && sub == 1) return $"down_blocks.{i}.attentions.{j}.{rest}";
                if (j == per - 1 && sub == 0 && rest.StartsWith("op.", StringComparison.Ordinal))
                    return $"down_blocks.{i}.downsamplers.0.conv.{rest[3..]}";
            }
            if (m.Groups[1].Value == "output")
            {
                int i = k / per, j = k % per;
                if (sub == 0) return $"up_blocks.{i}.resnets.{j}.{RenameResnet(rest)}";
                if (rest.StartsWith("conv.", StringComparison.Ordinal) && (sub == 1 || sub == 2)) return $"up_blocks.{i}.upsamplers.0.{rest}";
                if (sub == 1) return $"up_blocks.{i}.attentions.{j}.{rest}";
            }
        }
        throw new UserError($"{source}: UNet key 'model.diffusion_model.{key}' does not fit the SD 1.x UNet layout. " +
                            "The checkpoint is not an SD 1.x model, or was saved by a tool with its own layout; try the diffusers/kohya-converted .safetensors.");
    }

    static string RenameResnet(string rest)
    {
        foreach (var (l, d) in Resnet)
            if (rest.StartsWith(l, StringComparison.Ordinal)) return d + rest[l.Length..];
        return rest;
    }

    public static Dictionary<string, Tensor> ToLdm(IReadOnlyDictionary<string, Tensor> diffusers, string source)
    {
        var per = diffusers.Keys.Select(k => DiffusersBlock().Match(k))
            .Where(m => m.Success && m.Groups[1].Value == "down" && m.Groups[2].Value == "0" && m.Groups[3].Value == "resnets")
            .Select(m => int.Parse(m.Groups[4].Value)).DefaultIfEmpty(-1).Max() + 2;
        var upWithAttention = diffusers.Keys.Select(k => DiffusersBlock().Match(k))
            .Where(m => m.Success && m.Groups[1].Value == "up" && m.Groups[3].Value == "attentions")
            .Select(m => int.Parse(m.Groups[2].Value)).ToHashSet();
        var result = new Dictionary<string, Tensor>();
        foreach (var (key, t) in diffusers)
            result[DiffusersToLdm(key, per, upWithAttention, source)] = t;
        return result;
    }

    static string DiffusersToLdm(string key, int per, HashSet<int> upWithAttention, string source)
    {
        foreach (var (l, d) in Fixed)
            if (key.StartsWith(d, StringComparison.Ordinal))
                return l + (d.StartsWith("mid_block.resnets") ? ResnetToLdm(key[d.Length..]) : key[d.Length..]);
        var m = DiffusersBlock().Match(key);
        if (m.Success)
        {
            int i = int.Parse(m.Groups[2].Value), j = int.Parse(m.Groups[4].Value);
            var rest = m.Groups[5].Value;
            switch (m.Groups[1].Value, m.Groups[3].Value)
            {
                case ("down", "resnets"): return $"input_blocks.{1 + i * per + j}.0.{ResnetToLdm(rest)}";
                case ("down", "attentions"): return $"input_blocks.{1 + i * per + j}.1.{rest}";
                case ("down", "downsamplers") when rest.StartsWith("conv.", StringComparison.Ordinal):
                    return $"input_blocks.{(i + 1) * per}.0.op.{rest[5..]}";
                case ("up", "resnets"): return $"output_blocks.{i * per + j}.0.{ResnetToLdm(rest)}";
                case ("up", "attentions"): return $"output_blocks.{i * per + j}.1.{rest}";
                case ("up", "upsamplers"): return $"output_blocks.{i * per + per - 1}.{(upWithAttention.Contains(i) ? 2 : 1)}.{rest}";
            }
        }
        throw new UserError($"{source}: UNet key '{key}' is not a diffusers SD 1.x UNet key.");
    }

    static string ResnetToLdm(string rest)
    {
        foreach (var (l, d) in Resnet)
            if (rest.StartsWith(d, StringComparison.Ordinal)) return l + rest[d.Length..];
        return rest;
    }
}
