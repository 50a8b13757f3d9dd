using LoraBake.Evaluation;
using LoraBake.Runtime;

namespace LoraBake.Tests.Evaluation;

public sealed class AxisParserTests
{
    const string Key = "evaluation.x_axis";

    [Fact]
    public void Csv_quotes_and_spaces_as_python_csv_reader()
    {
        Assert.Equal(["a", "b, c", "d \"e\""], AxisParser.SplitCsv("a,  \"b, c\" , \"d \"\"e\"\"\"", Key));
        Assert.Equal(["x", "y"], AxisParser.SplitCsv(" x ,, y, ", Key));
    }

    [Fact]
    public void Csv_unclosed_quote_is_user_error()
    {
        var e = Assert.Throws<UserError>(() => AxisParser.SplitCsv("a, \"b", Key));
        Assert.Contains(Key, e.Message);
    }

    [Theory]
    [InlineData("1-5", new long[] { 1, 2, 3, 4, 5 })]
    [InlineData("1-10 (+2)", new long[] { 1, 3, 5, 7, 9 })]
    [InlineData("1-10 [5]", new long[] { 1, 3, 5, 7, 10 })]   // linspace 1, 3.25, 5.5, 7.75, 10 truncated
    [InlineData("10-1 (-3)", new long[] { 10, 7, 4 })]         // range(10, 2, -3): webui's end+1 quirk
    [InlineData("3, 1-2, -4", new long[] { 3, 1, 2, -4 })]
    public void Ints_ExpandAsWebui(string text, long[] expected) =>
        Assert.Equal(expected, AxisParser.ExpandInts(text, Key));

    [Theory]
    [InlineData("0.5-1 (+0.1)", new[] { 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 })]
    [InlineData("0-1 [5]", new[] { 0, 0.25, 0.5, 0.75, 1.0 })]
    [InlineData("0.8, 1", new[] { 0.8, 1.0 })]
    [InlineData("1-2", new[] { 1.0, 2.0 })]
    public void Floats_expand_as_webui(string text, double[] expected) =>
        Assert.Equal(expected, AxisParser.ExpandDoubles(text, Key));

    [Fact]
    public void Bad_values_are_user_errors_naming_the_key()
    {
        Assert.Contains(Key, Assert.Throws<UserError>(() => AxisParser.ExpandInts("1, two", Key)).Message);
        Assert.Contains(Key, Assert.Throws<UserError>(() => AxisParser.ExpandDoubles("0.5-1 (+0)", Key)).Message);
        Assert.Contains("more than", Assert.Throws<UserError>(() => AxisParser.ExpandInts("1-100000", Key)).Message);
    }

    [Theory]
    [InlineData("Prompt S/R: a, b", AxisKind.PromptSR)]
    [InlineData("prompt s/r:a", AxisKind.PromptSR)]
    [InlineData("Epoch: all", AxisKind.Epoch)]
    [InlineData("Weight: 0.5-1 (+0.25)", AxisKind.Weight)]
    [InlineData("Seed: 1-3", AxisKind.Seed)]
    [InlineData("Prompt:", AxisKind.Prompt)]
    public void Axis_types(string text, AxisKind kind) => Assert.Equal(kind, AxisParser.ParseAxis(text, Key).Kind);

    [Fact]
    public void Unknown_axis_type_is_user_error()
    {
        Assert.Contains("CFG", Assert.Throws<UserError>(() => AxisParser.ParseAxis("CFG: 5, 7", Key)).Message);
        Assert.Contains(Key, Assert.Throws<UserError>(() => AxisParser.ParseAxis("just values", Key)).Message);
    }

    [Fact]
    public void Labels_print_numbers_as_python()
    {
        Assert.Equal("1.0", PyNumber.Float(1));
        Assert.Equal("0.6", PyNumber.Float(0.6));
        Assert.Equal("1e-05", PyNumber.Float(1e-5).Replace("E-05", "e-05"));
    }
}
