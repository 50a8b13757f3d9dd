using System.Globalization;
using System.Text;

namespace LoraBake.Networks;

/// <summary>
/// Writes values the way Python prints them, because kohya metadata values are <c>str(value)</c> or
/// <c>json.dumps(value)</c>: floats as <c>repr</c> (<c>0.0001</c>, <c>1e-05</c>, <c>8.0</c>), booleans
/// <c>True</c>/<c>False</c>, and JSON with <c>", "</c> / <c>": "</c> separators and non-ASCII escaped
/// (<c>ensure_ascii</c>). Objects keep insertion order (pass lists of pairs or insertion-ordered dictionaries).
/// </summary>
public static class PythonJson
{
    /// <summary>Python <c>str(x)</c>.</summary>
    public static string Str(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        double d => Float(d),
        float f => Float(f),
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        string s => s,
        _ => Dumps(value),
    };

    /// <summary>Python <c>repr(float)</c>: shortest round-trip digits, scientific below 1e-4 and from 1e16.</summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return (1 / d) < 0 ? "-0.0" : "0.0";
        // Shortest digits: "R" gives them, in either plain or E form.
        var shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        string digits;
        int exp;   // value = 0.d1d2… × 10^(exp+1), i.e. d1 is at 10^exp
        int e = shortest.IndexOfAny(new[] { 'E', 'e' });
        if (e >= 0)
        {
            var mant = shortest[..e];
            exp = int.Parse(shortest[(e + 1)..], CultureInfo.InvariantCulture);
            digits = mant.Replace(".", "");
        }
        else
        {
            int dot = shortest.IndexOf('.');
            var intPart = dot >= 0 ? shortest[..dot] : shortest;
            var frac = dot >= 0 ? shortest[(dot + 1)..] : "";
            var all = intPart + frac;
            int lead = all.Length - all.TrimStart('0').Length;
            digits = all.TrimStart('0');
            exp = intPart.Length - 1 - lead;
        }
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        string sign = d < 0 ? "-" : "";
        if (exp >= -4 && exp < 16)
        {
            string text;
            if (exp >= 0)
            {
                var intDigits = digits.Length > exp + 1 ? digits[..(exp + 1)] : digits.PadRight(exp + 1, '0');
                var fracDigits = digits.Length > exp + 1 ? digits[(exp + 1)..] : "0";
                text = $"{intDigits}.{fracDigits}";
            }
            else
            {
                text = "0." + new string('0', -exp - 1) + digits;
            }
            return sign + text;
        }
        var mantissa = digits.Length > 1 ? $"{digits[0]}.{digits[1..]}" : digits;
        return $"{sign}{mantissa}e{(exp < 0 ? "-" : "+")}{Math.Abs(exp):00}";
    }

    /// <summary>Python <c>json.dumps(value)</c> with default arguments.</summary>
    public static string Dumps(object? value)
    {
        var sb = new StringBuilder();
        Write(sb, value);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case string s: WriteString(sb, s); break;
            case double d: sb.Append(double.IsFinite(d) ? Float(d) : d > 0 ? "Infinity" : d < 0 ? "-Infinity" : "NaN"); break;
            case float f: Write(sb, (double)f); break;
            case int or long: sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            case System.Collections.IDictionary dict:
            {
                sb.Append('{');
                bool first = true;
                foreach (System.Collections.DictionaryEntry kv in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, Convert.ToString(kv.Key, CultureInfo.InvariantCulture)!);
                    sb.Append(": ");
                    Write(sb, kv.Value);
                }
                sb.Append('}');
                break;
            }
            case IEnumerable<KeyValuePair<string, object?>> pairs:
            {
                sb.Append('{');
                bool first = true;
                foreach (var kv in pairs)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, kv.Key);
                    sb.Append(": ");
                    Write(sb, kv.Value);
                }
                sb.Append('}');
                break;
            }
            case System.Collections.IEnumerable list:
            {
                sb.Append('[');
                bool first = true;
                foreach (var item in list)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Write(sb, item);
                }
                sb.Append(']');
                break;
            }
            default:
                throw new ArgumentException($"Cannot write {value.GetType().Name} as JSON.");
        }
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7f) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
