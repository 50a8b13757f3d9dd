using System.Globalization;
using System.Text;
using LoraBake.Runtime;

namespace LoraBake.Training;

/// <summary>
/// kohya's <c>--optimizer_args</c>: a list of <c>key=value</c> strings whose values are Python literals
/// (sd-scripts reads them with <c>ast.literal_eval</c>): numbers, <c>True</c>/<c>False</c>/<c>None</c>,
/// quoted strings, and lists or tuples of those. Values parse to double, long, bool, string, null or
/// <see cref="List{T}"/> of object. Each key must be consumed by the optimizer; leftovers are an error.
/// </summary>
public sealed class OptimizerArgs
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly string _source;

    public IReadOnlyDictionary<string, object?> Values => _values;

    /// <param name="args">e.g. <c>["weight_decay=0.1", "betas=[0.9,0.99]"]</c>.</param>
    /// <param name="source">Where the args came from, for error messages (e.g. "training.optimizer_args").</param>
    public OptimizerArgs(IEnumerable<string> args, string source = "optimizer_args")
    {
        _source = source;
        foreach (var arg in args)
        {
            int eq = arg.IndexOf('=');
            if (eq <= 0)
                throw new UserError($"{source}: '{arg}' is not of the form key=value (e.g. weight_decay=0.1).");
            var key = arg[..eq].Trim();
            var text = arg[(eq + 1)..].Trim();
            try
            {
                _values[key] = PyLiteral.Parse(text);
            }
            catch (FormatException e)
            {
                throw new UserError($"{source}: the value of '{key}' ({text}) is not a Python literal: {e.Message}. " +
                                    "Write numbers as 0.1, booleans as True/False, lists as [0.9,0.99].");
            }
        }
    }

    public static OptimizerArgs Empty { get; } = new(Array.Empty<string>());

    public double GetDouble(string key, double fallback) =>
        Take(key) switch
        {
            null when !_values.ContainsKey(key) => fallback,
            double d => d,
            long l => l,
            var other => throw Wrong(key, other, "a number"),
        };

    public double? GetNullableDouble(string key, double? fallback) =>
        !_values.ContainsKey(key) ? fallback : Take(key) switch
        {
            null => null,
            double d => d,
            long l => l,
            var other => throw Wrong(key, other, "a number or None"),
        };

    public bool GetBool(string key, bool fallback) =>
        !_values.ContainsKey(key) ? fallback : Take(key) switch
        {
            bool b => b,
            var other => throw Wrong(key, other, "True or False"),
        };

    public (double, double) GetPair(string key, (double, double) fallback)
    {
        if (!_values.ContainsKey(key)) return fallback;
        var v = Take(key);
        if (v is List<object?> { Count: 2 } list && list.All(x => x is double or long))
            return (Convert.ToDouble(list[0], CultureInfo.InvariantCulture), Convert.ToDouble(list[1], CultureInfo.InvariantCulture));
        throw Wrong(key, v, "a pair of numbers like [0.9,0.99]");
    }

    /// <summary>Throws if any key was not read by the optimizer (a typo would otherwise be silently ignored).</summary>
    public void EnsureAllUsed(string optimizerName)
    {
        var unused = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unused.Count > 0)
            throw new UserError($"{_source}: {optimizerName} does not take {string.Join(", ", unused.Select(k => $"'{k}'"))}. " +
                                "Check the spelling or remove it.");
    }

    /// <summary>The args as kohya prints them inside <c>ss_optimizer</c>: <c>key=value,…</c>.</summary>
    public override string ToString() => string.Join(",", _values.Select(kv => $"{kv.Key}={PyLiteral.Format(kv.Value)}"));

    private object? Take(string key)
    {
        _used.Add(key);
        return _values.GetValueOrDefault(key);
    }

    private UserError Wrong(string key, object? value, string expected) =>
        new($"{_source}: '{key}' must be {expected} (got {PyLiteral.Format(value)}).");
}

/// <summary>A small reader for the Python literals <c>ast.literal_eval</c> accepts in optimizer args.</summary>
internal static class PyLiteral
{
    public static object? Parse(string text)
    {
        int pos = 0;
        var value = ParseValue(text, ref pos);
        SkipSpace(text, ref pos);
        if (pos != text.Length) throw new FormatException($"unexpected '{text[pos..]}'");
        return value;
    }

    private static object? ParseValue(string s, ref int pos)
    {
        SkipSpace(s, ref pos);
        if (pos >= s.Length) throw new FormatException("missing value");
        char c = s[pos];
        if (c is '[' or '(') return ParseList(s, ref pos, c == '[' ? ']' : ')');
        if (c is '\'' or '"') return ParseString(s, ref pos);
        int start = pos;
        while (pos < s.Length && s[pos] is not (',' or ']' or ')') && !char.IsWhiteSpace(s[pos])) pos++;
        var token = s[start..pos];
        switch (token)
        {
            case "True": return true;
            case "False": return false;
            case "None": return null;
            case "inf" or "float('inf')": return double.PositiveInfinity;
        }
        var clean = token.Replace("_", "");
        if (long.TryParse(clean, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        if (double.TryParse(clean, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        throw new FormatException($"'{token}' is not a number, True, False, None, a quoted string or a list");
    }

    private static List<object?> ParseList(string s, ref int pos, char close)
    {
        pos++;
        var list = new List<object?>();
        while (true)
        {
            SkipSpace(s, ref pos);
            if (pos >= s.Length) throw new FormatException($"missing '{close}'");
            if (s[pos] == close) { pos++; return list; }
            list.Add(ParseValue(s, ref pos));
            SkipSpace(s, ref pos);
            if (pos < s.Length && s[pos] == ',') pos++;
            else if (pos >= s.Length || s[pos] != close) throw new FormatException($"expected ',' or '{close}'");
        }
    }

    private static string ParseString(string s, ref int pos)
    {
        char quote = s[pos++];
        var sb = new StringBuilder();
        while (pos < s.Length && s[pos] != quote)
        {
            if (s[pos] == '\\' && pos + 1 < s.Length) pos++;
            sb.Append(s[pos++]);
        }
        if (pos >= s.Length) throw new FormatException("unterminated string");
        pos++;
        return sb.ToString();
    }

    private static void SkipSpace(string s, ref int pos)
    {
        while (pos < s.Length && char.IsWhiteSpace(s[pos])) pos++;
    }

    public static string Format(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        double d => double.IsPositiveInfinity(d) ? "inf" : d.ToString("R", CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => $"'{s}'",
        List<object?> list => "[" + string.Join(", ", list.Select(Format)) + "]",
        _ => v.ToString() ?? "",
    };
}
