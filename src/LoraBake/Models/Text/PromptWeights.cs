using System.Globalization;
using System.Text.RegularExpressions;
using LoraBake.Runtime;

namespace LoraBake.Models.Text;

/// <summary>A piece of prompt text and its attention weight; BREAK is <c>("BREAK", -1)</c> as in webui.</summary>
public readonly record struct WeightedFragment(string Text, double Weight)
{
    public bool IsBreak => Text == "BREAK" && Weight == -1;
}

/// <summary>
/// webui's attention syntax (<c>modules/prompt_parser.parse_prompt_attention</c>): <c>(text)</c> ×1.1,
/// <c>[text]</c> ÷1.1, <c>(text:1.3)</c> ×1.3, nesting multiplies, <c>\( \) \[ \] \\</c> are literal,
/// unbalanced brackets close at the end, <c>BREAK</c> (upper case, a whole word) starts a new 75-token chunk.
/// Neighbouring fragments of equal weight are merged.
/// </summary>
public static partial class PromptWeights
{
    public const double RoundMultiplier = 1.1;
    public const double SquareMultiplier = 1 / 1.1;

    [GeneratedRegex(@"\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:")]
    private static partial Regex Attention();

    [GeneratedRegex(@"\s*\bBREAK\b\s*", RegexOptions.Singleline)]
    private static partial Regex Break();

    public static List<WeightedFragment> Parse(string prompt, bool allowBreak = true)
    {
        var res = new List<(string Text, double Weight)>();
        var round = new Stack<int>();
        var square = new Stack<int>();

        void MultiplyRange(int start, double multiplier)
        {
            for (int p = start; p < res.Count; p++) res[p] = (res[p].Text, res[p].Weight * multiplier);
        }

        foreach (Match m in Attention().Matches(prompt))
        {
            var text = m.Value;
            var weight = m.Groups[1];
            if (text.StartsWith('\\')) res.Add((text[1..], 1.0));
            else if (text == "(") round.Push(res.Count);
            else if (text == "[") square.Push(res.Count);
            else if (weight.Success && round.Count > 0) MultiplyRange(round.Pop(), ParseWeight(weight.Value, prompt, m.Index));
            else if (text == ")" && round.Count > 0) MultiplyRange(round.Pop(), RoundMultiplier);
            else if (text == "]" && square.Count > 0) MultiplyRange(square.Pop(), SquareMultiplier);
            else
            {
                var parts = allowBreak ? Break().Split(text) : [text];
                for (int i = 0; i < parts.Length; i++)
                {
                    if (i > 0) res.Add(("BREAK", -1));
                    res.Add((parts[i], 1.0));
                }
            }
        }
        // Unclosed brackets apply to the end; webui pops them in list order.
        foreach (var pos in round.Reverse()) MultiplyRange(pos, RoundMultiplier);
        foreach (var pos in square.Reverse()) MultiplyRange(pos, SquareMultiplier);

        if (res.Count == 0) res.Add(("", 1.0));
        for (int i = 0; i + 1 < res.Count;)
        {
            if (res[i].Weight == res[i + 1].Weight)
            {
                res[i] = (res[i].Text + res[i + 1].Text, res[i].Weight);
                res.RemoveAt(i + 1);
            }
            else i++;
        }
        return res.Select(r => new WeightedFragment(r.Text, r.Weight)).ToList();
    }

    static double ParseWeight(string s, string prompt, int index) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) ? w
            : throw new UserError($"Prompt '{prompt}', character {index + 1}: '{s}' is not a number. " +
                                  "Write the weight as (text:1.2).");

    /// <summary>
    /// webui's "Original" emphasis: <c>z *= weights; z *= original_mean / new_mean</c>, means over the whole
    /// tensor. <paramref name="hidden"/> is [batch, tokens, dim], <paramref name="weights"/> [batch, tokens].
    /// Where the ratio is 0/0 (a hidden state whose mean rounds to exactly zero, as a final LayerNorm without
    /// bias gives, with every weight 1) there is no mean to restore: webui would return NaN, we return z.
    /// </summary>
    public static TorchSharp.torch.Tensor ApplyOriginalEmphasis(TorchSharp.torch.Tensor hidden, TorchSharp.torch.Tensor weights)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var originalMean = hidden.mean();
        var z = hidden * weights.to(hidden.dtype).unsqueeze(-1);
        var newMean = z.mean();
        // A meta tensor has no value to compare; the device-plumbing test takes the general path.
        if (!Numerics.MetaKernels.IsMeta(newMean) && newMean.to(TorchSharp.torch.ScalarType.Float32).item<float>() == 0f) return z.MoveToOuterDisposeScope();
        return (z * (originalMean / newMean)).MoveToOuterDisposeScope();
    }
}
