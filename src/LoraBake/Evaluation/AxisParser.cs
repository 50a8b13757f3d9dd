using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>
/// The webui X/Y/Z plot's value syntax (A1111 `scripts/xyz_grid.py`): a CSV line (quotes allowed, spaces after
/// commas ignored, each value stripped), where numeric axes also accept ranges: `1-5` (inclusive, step 1),
/// `1-10 (+2)` (step), `1-10 [5]` (count, evenly spaced like numpy.linspace). Text axes take values verbatim.
/// </summary>
public static partial class AxisParser
{
    // The four regexes of xyz_grid.py, anchored like Python's fullmatch.
    [GeneratedRegex(@"^\s*([+-]?\s*\d+)\s*-\s*([+-]?\s*\d+)(?:\s*\(([+-]\d+)\s*\))?\s*$")]
    private static partial Regex IntRange();
    [GeneratedRegex(@"^\s*([+-]?\s*\d+)\s*-\s*([+-]?\s*\d+)(?:\s*\[(\d+)\s*\])?\s*$")]
    private static partial Regex IntRangeCount();
    [GeneratedRegex(@"^\s*([+-]?\s*\d+(?:\.\d*)?)\s*-\s*([+-]?\s*\d+(?:\.\d*)?)(?:\s*\(([+-]\d+(?:\.\d*)?)\s*\))?\s*$")]
    private static partial Regex FloatRange();
    [GeneratedRegex(@"^\s*([+-]?\s*\d+(?:\.\d*)?)\s*-\s*([+-]?\s*\d+(?:\.\d*)?)(?:\s*\[(\d+(?:\.\d*)?)\s*\])?\s*$")]
    private static partial Regex FloatRangeCount();

    /// <summary>Ranges expand to at most this many values; a typo such as `1-100000` is refused, not rendered.</summary>
    public const int MaxValues = 1000;

    /// <summary>
    /// Parses `KIND: values` (KIND one of Epoch, Weight, Prompt, Seed, Prompt S/R; case-insensitive).
    /// <paramref name="key"/> is the recipe key (e.g. `evaluation.x_axis`) named in errors.
    /// </summary>
    public static AxisSpec ParseAxis(string text, string key)
    {
        var colon = text.IndexOf(':');
        if (colon < 0)
            throw new UserError($"{key}: \"{text}\" has no axis type. Write it as \"TYPE: values\", TYPE one of "
                + "Epoch, Weight, Prompt, Seed, Prompt S/R (e.g. \"Weight: 0.4-1.0 (+0.2)\").");
        var name = text[..colon].Trim();
        var kind = name.ToLowerInvariant().Replace(" ", "") switch
        {
            "epoch" or "epochs" => AxisKind.Epoch,
            "weight" or "weights" => AxisKind.Weight,
            "prompt" or "prompts" => AxisKind.Prompt,
            "seed" or "seeds" => AxisKind.Seed,
            "prompts/r" => AxisKind.PromptSR,
            _ => throw new UserError($"{key}: unknown axis type \"{name}\". Use one of Epoch, Weight, Prompt, Seed, Prompt S/R."),
        };
        return new AxisSpec(kind, text[(colon + 1)..], key);
    }

    /// <summary>Python's `csv.reader(..., skipinitialspace=True)` over the text, each value stripped; empty values dropped.</summary>
    public static IReadOnlyList<string> SplitCsv(string text, string key)
    {
        var values = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i <= text.Length)
        {
            field.Clear();
            while (i < text.Length && text[i] == ' ') i++;              // skipinitialspace
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length)
                        throw new UserError($"{key}: a quoted value is not closed in \"{text}\". Close it with \" (write \"\" for a quote inside).");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    field.Append(text[i++]);
                }
                // Like csv.reader, text after the closing quote up to the comma joins the value.
                while (i < text.Length && text[i] != ',') field.Append(text[i++]);
            }
            else
            {
                while (i < text.Length && text[i] != ',') field.Append(text[i++]);
            }
            var v = field.ToString().Trim();
            if (v.Length > 0) values.Add(v);
            i++; // past the comma (or the end)
        }
        return values;
    }

    /// <summary>An int axis: values and ranges `a-b`, `a-b (+s)`, `a-b [n]`, as xyz_grid.py expands them.</summary>
    public static IReadOnlyList<long> ExpandInts(string text, string key)
    {
        var result = new List<long>();
        foreach (var v in SplitCsv(text, key))
        {
            var m = IntRange().Match(v);
            var mc = IntRangeCount().Match(v);
            if (m.Success)
            {
                // range(start, end + 1, step), as webui: a negative step with start > end stops before end.
                long start = ParseLong(m.Groups[1].Value), end = ParseLong(m.Groups[2].Value) + 1;
                long step = m.Groups[3].Success ? ParseLong(m.Groups[3].Value) : 1;
                if (step == 0) throw new UserError($"{key}: \"{v}\" has step 0; use a non-zero step such as (+1).");
                for (var x = start; step > 0 ? x < end : x > end; x += step)
                {
                    result.Add(x);
                    CheckCount(result.Count, v, key);
                }
            }
            else if (mc.Success)
            {
                double start = ParseLong(mc.Groups[1].Value), end = ParseLong(mc.Groups[2].Value);
                var num = (int)Math.Min(ParseLong(mc.Groups[3].Value), MaxValues + 1L);
                CheckCount(num, v, key);
                foreach (var x in Linspace(start, end, num)) result.Add((long)Math.Truncate(x)); // Python int() truncates
            }
            else if (long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var one))
            {
                result.Add(one);
            }
            else
            {
                throw new UserError($"{key}: \"{v}\" is not a whole number or a range (write 3, 1-5, 1-10 (+2) or 1-10 [5]).");
            }
        }
        return result;
    }

    /// <summary>
    /// A float axis: values and ranges; `a-b (+s)` steps from a to b inclusive, `a-b [n]` is numpy.linspace.
    /// Range values are rounded to 10 decimals so labels read 0.6, not webui's 0.6000000000000001.
    /// </summary>
    public static IReadOnlyList<double> ExpandDoubles(string text, string key)
    {
        var result = new List<double>();
        foreach (var v in SplitCsv(text, key))
        {
            var m = FloatRange().Match(v);
            var mc = FloatRangeCount().Match(v);
            if (m.Success)
            {
                double start = ParseDouble(m.Groups[1].Value), step = m.Groups[3].Success ? ParseDouble(m.Groups[3].Value) : 1;
                if (step == 0) throw new UserError($"{key}: \"{v}\" has step 0; use a non-zero step such as (+0.1).");
                // webui's numpy.arange(a, b + s, s) can overshoot from float rounding ("0.5-1 (+0.1)" gives 1.1 too);
                // here b is included with a small tolerance and never passed.
                var end = ParseDouble(m.Groups[2].Value);
                var n = Math.Max(0, (long)Math.Floor((end - start) / step + 1e-9) + 1);
                CheckCount(n, v, key);
                for (var i = 0; i < n; i++) result.Add(Math.Round(start + i * step, 10));
            }
            else if (mc.Success)
            {
                double start = ParseDouble(mc.Groups[1].Value), end = ParseDouble(mc.Groups[2].Value);
                var num = (long)ParseDouble(mc.Groups[3].Value);
                CheckCount(num, v, key);
                foreach (var x in Linspace(start, end, (int)num)) result.Add(Math.Round(x, 10));
            }
            else if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var one) && double.IsFinite(one))
            {
                result.Add(one);
            }
            else
            {
                throw new UserError($"{key}: \"{v}\" is not a number or a range (write 0.8, 0.5-1 (+0.1) or 0-1 [5]).");
            }
        }
        return result;
    }

    /// <summary>numpy.linspace(start, stop, num) with endpoint=True.</summary>
    static IEnumerable<double> Linspace(double start, double stop, int num)
    {
        if (num == 1) { yield return start; yield break; }
        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++) yield return i == num - 1 ? stop : start + i * step;
    }

    static void CheckCount(long n, string v, string key)
    {
        if (n > MaxValues)
            throw new UserError($"{key}: \"{v}\" expands to more than {MaxValues} values; narrow the range or raise the step.");
    }

    static long ParseLong(string s) => long.Parse(s.Replace(" ", ""), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
    static double ParseDouble(string s) => double.Parse(s.Replace(" ", ""), NumberStyles.Float, CultureInfo.InvariantCulture);
}
