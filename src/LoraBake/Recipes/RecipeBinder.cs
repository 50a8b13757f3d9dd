using System.Globalization;
using System.Reflection;

namespace LoraBake.Recipes;

/// <summary>
/// Fills the settings records from a merged YAML tree by reflection over their properties (key = snake_case
/// of the property), converting each value by the property's type and checking it against the setting's
/// constraint in <see cref="RecipeSchema"/>. Every problem is recorded; binding never stops at the first.
/// </summary>
internal sealed partial class RecipeBinder(Func<string, string> display, List<RecipeDiagnostic> errors, List<RecipeDiagnostic> warnings)
{
    static readonly NullabilityInfoContext Nullability = new();

    [System.Text.RegularExpressions.GeneratedRegex(@"\[\d+\]")]
    private static partial System.Text.RegularExpressions.Regex ListIndex();

    /// <summary>Where each bound key was written, so later cross-field checks can point at it.</summary>
    public Dictionary<string, YNode> Places { get; } = new();

    public T Bind<T>(YNode? node, string path) where T : new() => (T)Bind(typeof(T), node, path);

    object Bind(Type type, YNode? node, string path)
    {
        var record = Activator.CreateInstance(type)!;
        if (node == null) return record;
        if (node is YScalar { IsNull: true }) return record;
        if (node is not YMapping map)
        {
            Error(node, path, $"expected a mapping of {type.Name.Replace("Settings", "").ToLowerInvariant()} settings (key: value lines), found {Describe(node)}");
            return record;
        }
        var keys = KeyNames.Keys(type);
        foreach (var (key, value) in map.Entries.Select(e => (e.Key, e.Value)))
        {
            var keyPath = Join(path, key.Value);
            if (!keys.TryGetValue(key.Value, out var prop))
            {
                Error(key, keyPath, UnknownKey(key.Value, keys.Keys, path));
                continue;
            }
            Places[keyPath] = value;
            var ruleKey = ListIndex().Replace(keyPath, "[]");
            if (!TryConvert(prop, value, keyPath, ruleKey, out var converted)) continue;
            if (RecipeSchema.ByPath.GetValueOrDefault(ruleKey)?.Constraint is { } constraint)
            {
                var r = constraint.Check(converted);
                if (r.Warning != null) warnings.Add(Diag(value, keyPath, r.Warning));
                if (r.Error != null) { Error(value, keyPath, r.Error); continue; }
                converted = r.Value;
            }
            prop.SetValue(record, converted);
        }
        return record;
    }

    static string UnknownKey(string key, IEnumerable<string> valid, string section)
    {
        if (key == "<<") return "YAML merge keys (<<) are not supported; share settings with a preset in recipes/ and extends:";
        if (KeyNames.Closest(key, valid) is { } near) return $"unknown key; did you mean {near}?";
        if (RecipeSchema.KohyaNames.TryGetValue(key, out var ours)) return $"unknown key; the sd-scripts/colab setting {key} is {ours} here";
        foreach (var (name, type) in RecipeLoader.Sections)
            if (name != section && KeyNames.Keys(type).ContainsKey(key)) return $"unknown key in {section}:; it belongs in the {name}: section";
        return $"unknown key; valid keys in {section}: are {string.Join(", ", valid)}";
    }

    bool TryConvert(PropertyInfo prop, YNode node, string keyPath, string ruleKey, out object? value)
    {
        value = null;
        var type = prop.PropertyType;
        var underlying = Nullable.GetUnderlyingType(type);
        bool nullable = underlying != null || (!type.IsValueType && Nullability.Create(prop).WriteState == NullabilityState.Nullable);

        // Special forms first: the colab's checkbox for min-SNR, epoch lists for evaluation (their JSON Schema: RecipeRules).
        if (ruleKey == "training.min_snr_gamma" && node is YScalar { Plain: true } b && bool.TryParse(b.Value, out var on))
        {
            value = on ? 5.0 : null;
            return true;
        }
        if (ruleKey == "evaluation.epochs" && node is YSequence epochSeq)
        {
            var list = ConvertList(epochSeq.Items, typeof(int), keyPath);
            if (list == null) return false;
            value = string.Join(",", list.Cast<int>());
            return true;
        }

        if (node is YScalar { IsNull: true })
        {
            if (nullable) return true;
            Error(node, keyPath, $"needs a value{Expect(underlying ?? type)}");
            return false;
        }
        var t = underlying ?? type;
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var itemType = t.GetGenericArguments()[0];
            IReadOnlyList<YNode> items = node switch
            {
                YSequence s => s.Items,
                YScalar sc when itemType != typeof(SubsetSettings) => [sc], // a single prompt needs no list
                _ => [],
            };
            if (node is YMapping || (node is YScalar && itemType == typeof(SubsetSettings)))
            {
                Error(node, keyPath, $"expected a list, found {Describe(node)}");
                return false;
            }
            var list = ConvertList(items, itemType, keyPath);
            if (list == null) return false;
            value = MakeList(itemType, list);
            return true;
        }
        var one = ConvertScalar(node, t, keyPath);
        if (one == null) return false;
        value = one;
        return true;
    }

    List<object>? ConvertList(IReadOnlyList<YNode> items, Type itemType, string keyPath)
    {
        var result = new List<object>();
        bool ok = true;
        for (int i = 0; i < items.Count; i++)
        {
            var itemPath = $"{keyPath}[{i}]";
            if (itemType == typeof(SubsetSettings))
            {
                result.Add(Bind(itemType, items[i], itemPath));
                continue;
            }
            var v = ConvertScalar(items[i], itemType, itemPath);
            if (v == null) ok = false; else result.Add(v);
        }
        return ok ? result : null;
    }

    static object MakeList(Type itemType, List<object> items)
    {
        var array = Array.CreateInstance(itemType, items.Count);
        for (int i = 0; i < items.Count; i++) array.SetValue(items[i], i);
        return array;
    }

    /// <summary>Converts a scalar to <paramref name="t"/>; null (with an error recorded) when it does not fit.</summary>
    object? ConvertScalar(YNode node, Type t, string keyPath)
    {
        if (node is not YScalar s)
        {
            Error(node, keyPath, $"expected {Expect(t).TrimStart(';', ' ')}, found {Describe(node)}");
            return null;
        }
        var text = s.Value.Trim();
        if (t == typeof(string)) return s.Value;
        if (t == typeof(bool))
        {
            if (bool.TryParse(text, out var b)) return b;
            Error(s, keyPath, $"\"{s.Value}\" is not true or false");
            return null;
        }
        if (t == typeof(int) || t == typeof(long))
        {
            if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            {
                if (t == typeof(long)) return l;
                if (l is >= int.MinValue and <= int.MaxValue) return (int)l;
            }
            Error(s, keyPath, double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                ? $"{text} must be a whole number" : $"\"{s.Value}\" is not a whole number");
            return null;
        }
        if (t == typeof(double))
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return d;
            Error(s, keyPath, $"\"{s.Value}\" is not a number");
            return null;
        }
        if (t.IsEnum)
        {
            var names = Enum.GetNames(t);
            var match = names.FirstOrDefault(n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
            if (match != null) return Enum.Parse(t, match);
            var near = KeyNames.Closest(text, names.Select(n => n.ToLowerInvariant()));
            Error(s, keyPath, $"\"{s.Value}\" is not one of {string.Join(", ", names)}{(near == null ? "" : $"; did you mean {names.First(n => n.ToLowerInvariant() == near)}?")}");
            return null;
        }
        throw new InvalidOperationException($"no YAML conversion for {t}");
    }

    static string Expect(Type t) =>
        t == typeof(string) ? "; write some text"
        : t == typeof(bool) ? "; write true or false"
        : t == typeof(int) || t == typeof(long) ? "; write a whole number"
        : t == typeof(double) ? "; write a number"
        : t.IsEnum ? $"; write one of {string.Join(", ", Enum.GetNames(t))}"
        : "";

    static string Describe(YNode node) => node switch
    {
        YScalar s => $"\"{s.Value}\"",
        YSequence => "a list",
        YMapping => "a mapping",
        _ => "something else",
    };

    static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    RecipeDiagnostic Diag(YNode at, string keyPath, string message) => new(display(at.File), at.Line, at.Column, keyPath, message);

    void Error(YNode at, string keyPath, string message) => errors.Add(Diag(at, keyPath, message));
}
