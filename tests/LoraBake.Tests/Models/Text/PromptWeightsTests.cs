using LoraBake.Models.Text;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Text;

public class PromptWeightsTests
{
    static void AssertParse(string prompt, params (string Text, double Weight)[] expected)
    {
        var actual = PromptWeights.Parse(prompt);
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Text, actual[i].Text);
            Assert.Equal(expected[i].Weight, actual[i].Weight, 12);
        }
    }

    // The cases of webui's parse_prompt_attention docstring.
    [Fact] public void Plain_text() => AssertParse("normal text", ("normal text", 1.0));
    [Fact] public void Round_brackets() => AssertParse("an (important) word", ("an ", 1.0), ("important", 1.1), (" word", 1.0));
    [Fact] public void Unbalanced() => AssertParse("(unbalanced", ("unbalanced", 1.1));
    [Fact] public void Escapes() => AssertParse(@"\(literal\]", ("(literal]", 1.0));
    [Fact] public void Merges_equal_weights() => AssertParse("(unnecessary)(parens)", ("unnecessaryparens", 1.1));

    [Fact]
    public void Nesting() => AssertParse("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        ("a ", 1.0), ("house", 1.5730000000000004), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
        (", sun, ", 1.1), ("sky", 1.4641000000000006), (".", 1.1));

    [Fact] public void Square_brackets() => AssertParse("[[dim]] x", ("dim", 1 / 1.1 / 1.1), (" x", 1.0));
    [Fact] public void Explicit_weight_with_spaces() => AssertParse("(cat : 0.8 ) dog", ("cat ", 0.8), (" dog", 1.0));
    [Fact] public void Colon_outside_brackets() => AssertParse("a:1.2) b", ("a:1.2) b", 1.0));
    [Fact] public void Escaped_backslash() => AssertParse(@"a\\b", ("a\\b", 1.0));
    [Fact] public void Empty() => AssertParse("", ("", 1.0));

    [Fact]
    public void Break() => AssertParse("a BREAK b", ("a", 1.0), ("BREAK", -1), ("b", 1.0));

    [Fact]
    public void Break_is_case_sensitive_and_whole_word() => AssertParse("a break bBREAK", ("a break bBREAK", 1.0));

    [Fact]
    public void Break_can_be_disabled()
    {
        var f = PromptWeights.Parse("a BREAK b", allowBreak: false);
        Assert.Equal([new WeightedFragment("a BREAK b", 1.0)], f);
    }

    [Fact]
    public void Bad_number_is_a_user_error()
    {
        var e = Assert.Throws<UserError>(() => PromptWeights.Parse("(cat:1.2.3)"));
        Assert.Contains("1.2.3", e.Message);
    }

    [Fact]
    public void Original_emphasis_restores_the_mean()
    {
        using var z = arange(1, 13, dtype: ScalarType.Float32).reshape(1, 3, 4);
        using var w = tensor(new float[] { 1f, 2f, 0.5f }, [1, 3]);
        using var result = PromptWeights.ApplyOriginalEmphasis(z, w);
        Assert.Equal(z.mean().item<float>(), result.mean().item<float>(), 4);
        // Row ratios follow the weights.
        var r = result.data<float>().ToArray();
        var x = z.data<float>().ToArray();
        Assert.Equal(2.0, r[4] / x[4] / (r[0] / x[0]), 5);
        Assert.Equal(0.5, r[8] / x[8] / (r[0] / x[0]), 5);
    }

    [Fact]
    public void Original_emphasis_of_a_hidden_state_with_zero_mean_is_finite_not_NaN()
    {
        // A final LayerNorm without bias gives token rows of mean ~0; their sum can round to exactly 0, and
        // webui's original_mean / new_mean is then 0/0 (the demo's black cells on one CPU).
        using var z = tensor(new float[] { 1f, -1f, 2f, -2f, 0.5f, -0.5f }, [1, 3, 2]);
        using var ones = tensor(new float[] { 1f, 1f, 1f }, [1, 3]);
        Assert.Equal(0f, z.mean().item<float>());
        using var result = PromptWeights.ApplyOriginalEmphasis(z, ones);
        Assert.Equal(z.data<float>().ToArray(), result.data<float>().ToArray());
    }
}
