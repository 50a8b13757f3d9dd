using System.Globalization;
using System.Text.RegularExpressions;
using LoraBake.Runtime;

namespace LoraBake.Sampling;

/// <summary>One <c>&lt;lora:NAME:…&gt;</c> tag of a prompt, with webui's strengths.</summary>
public sealed record LoraTag(string Name, double TextEncoderWeight, double UnetWeight, string Text);

/// <summary>
/// webui's extra-network syntax in prompts (<c>modules/extra_networks.py</c>, <c>extra_networks_lora.py</c>):
/// <c>&lt;lora:NAME&gt;</c>, <c>&lt;lora:NAME:W&gt;</c>, <c>&lt;lora:NAME:TE:UNET&gt;</c> or the named
/// <c>te=</c> / <c>unet=</c> forms. TE defaults to 1, UNET to TE. Tags are removed from the prompt text
/// before it is encoded; NAME is found as NAME.safetensors in a list of folders.
/// </summary>
public static partial class LoraPromptSyntax
{
    // webui's re_extra_net.
    [GeneratedRegex(@"<(\w+):([^>]+)>")]
    private static partial Regex ExtraNetwork();

    /// <summary>The prompt without its extra-network tags, and the LoRA tags in order.</summary>
    public static (string Prompt, IReadOnlyList<LoraTag> Tags) Extract(string prompt)
    {
        var tags = new List<LoraTag>();
        string rest = ExtraNetwork().Replace(prompt, m =>
        {
            string kind = m.Groups[1].Value;
            if (kind is not ("lora" or "lyco"))
                throw new UserError($"prompt: '{m.Value}' is a '{kind}' extra network, which is not supported; only <lora:NAME:WEIGHT> tags are. " +
                                    "Remove the tag from the prompt.");
            tags.Add(ParseTag(m.Value, m.Groups[2].Value));
            return "";
        });
        return (rest, tags);
    }

    static LoraTag ParseTag(string text, string args)
    {
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in args.Split(':'))
        {
            int eq = item.IndexOf('=');
            if (eq > 0) named[item[..eq].Trim()] = item[(eq + 1)..].Trim();
            else positional.Add(item.Trim());
        }
        if (positional.Count == 0 || positional[0].Length == 0)
            throw new UserError($"prompt: '{text}' has no LoRA name. Write <lora:NAME:WEIGHT>.");
        foreach (var key in named.Keys)
            if (key is not ("te" or "unet"))
                throw new UserError($"prompt: '{text}' sets '{key}=', which is not supported (dyn= included). Use te= and unet=.");
        if (positional.Count > 3)
            throw new UserError($"prompt: '{text}' has {positional.Count - 1} weights; use <lora:NAME:W> or <lora:NAME:TE:UNET> (dynamic dim is not supported).");
        double te = positional.Count > 1 ? Number(text, positional[1]) : 1.0;
        if (named.TryGetValue("te", out var teText)) te = Number(text, teText);
        double unet = positional.Count > 2 ? Number(text, positional[2]) : te;
        if (named.TryGetValue("unet", out var unetText)) unet = Number(text, unetText);
        return new LoraTag(positional[0], te, unet, text);
    }

    static double Number(string tag, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v
            : throw new UserError($"prompt: '{tag}' has weight '{value}', which is not a number. Write e.g. <lora:NAME:0.8>.");

    /// <summary>NAME.safetensors in the first folder that has it (NAME may carry the extension or a relative path).</summary>
    public static string Resolve(string name, IReadOnlyList<string> searchFolders)
    {
        string file = name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? name : name + ".safetensors";
        foreach (var folder in searchFolders)
        {
            string candidate = Path.GetFullPath(Path.Combine(folder, file));
            if (File.Exists(candidate)) return candidate;
        }
        string looked = searchFolders.Count == 0 ? "(no folders)" : string.Join(", ", searchFolders.Select(Path.GetFullPath));
        throw new UserError($"prompt: <lora:{name}:…> names '{file}', which is in none of the LoRA folders: {looked}. " +
                            "Check the spelling, or pass the file with --lora PATH:WEIGHT.");
    }

    /// <summary>Resolves every tag of <paramref name="tags"/> to a file and its strengths.</summary>
    public static IReadOnlyList<LoraReference> Resolve(IReadOnlyList<LoraTag> tags, IReadOnlyList<string> searchFolders) =>
        tags.Select(t => new LoraReference(Resolve(t.Name, searchFolders), t.TextEncoderWeight, t.UnetWeight)).ToList();

    /// <summary>The tag webui would write for <paramref name="name"/> at these strengths.</summary>
    public static string Format(string name, double textEncoder, double unet) =>
        textEncoder == unet
            ? $"<lora:{name}:{Num(textEncoder)}>"
            : $"<lora:{name}:{Num(textEncoder)}:{Num(unet)}>";

    static string Num(double v) => v.ToString(CultureInfo.InvariantCulture);
}
