using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace LoraBake.Recipes;

/// <summary>Leaves a property out of <see cref="RecipeCanonical"/> (where a file came from is not what it says).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FingerprintIgnoreAttribute : Attribute;

/// <summary>
/// Deterministic JSON of a settings record (or any object of records, lists, dictionaries and scalars), for
/// fingerprints: snake_case names, keys sorted ordinally, numbers in invariant round-trip form, enums by name,
/// no whitespace. A stage hashes exactly the section or the anonymous object of fields it reads.
/// </summary>
public static class RecipeCanonical
{
    public static string Json(object? section)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            Write(w, section);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    static void Write(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case Enum e: w.WriteStringValue(e.ToString()); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case float f: w.WriteNumberValue(f); break;
            case double d:
                if (!double.IsFinite(d)) throw new ArgumentException($"cannot fingerprint {d}");
                // Whole numbers as integers, so 8 and 8.0 (alpha written either way) hash the same.
                if (d == Math.Floor(d) && Math.Abs(d) < 1e15) w.WriteNumberValue((long)d); else w.WriteNumberValue(d);
                break;
            case decimal m: w.WriteNumberValue(m); break;
            case IDictionary dict:
                w.WriteStartObject();
                foreach (var key in dict.Keys.Cast<object>().Select(k => Convert.ToString(k, System.Globalization.CultureInfo.InvariantCulture)!).Order(StringComparer.Ordinal))
                {
                    w.WritePropertyName(key);
                    Write(w, dict[key]);
                }
                w.WriteEndObject();
                break;
            case IEnumerable list:
                w.WriteStartArray();
                foreach (var item in list) Write(w, item);
                w.WriteEndArray();
                break;
            default:
                if (v is System.Runtime.CompilerServices.ITuple tuple) { WriteTuple(w, tuple); break; }
                w.WriteStartObject();
                var props = v.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .Where(p => p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<FingerprintIgnoreAttribute>() == null)
                    .Select(p => (Name: KeyNames.SnakeCase(p.Name), Prop: p))
                    .OrderBy(p => p.Name, StringComparer.Ordinal);
                foreach (var (name, prop) in props)
                {
                    w.WritePropertyName(name);
                    Write(w, prop.GetValue(v));
                }
                w.WriteEndObject();
                break;
        }
    }

    static void WriteTuple(Utf8JsonWriter w, System.Runtime.CompilerServices.ITuple tuple)
    {
        w.WriteStartArray();
        for (int i = 0; i < tuple.Length; i++) Write(w, tuple[i]);
        w.WriteEndArray();
    }
}
