using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraBake.Recipes;

/// <summary>
/// The JSON Schema of a recipe file, for editors (the YAML language server completes keys, shows the help and
/// marks values out of range). Written from <see cref="RecipeSchema"/>; `lorabake schema` prints it and
/// recipes/lorabake.schema.json is that output, committed (a test keeps the two equal).
/// </summary>
public static class RecipeJsonSchema
{
    public static string Json()
    {
        var sections = new JsonObject
        {
            ["extends"] = new JsonObject { ["type"] = "string", ["description"] = "the preset in recipes/ this file starts from (its name without .yaml), e.g. character-lora" },
            ["project_name"] = new JsonObject { ["description"] = "ignored: the project folder's name is the project's name" },
        };
        foreach (var (name, type) in RecipeLoader.Sections) sections[name] = Section(type);
        var root = new JsonObject
        {
            ["$schema"] = "http://json-schema.org/draft-07/schema#",
            ["title"] = "LoraBake recipe",
            ["description"] = "projects/NAME/project.yaml or a preset in recipes/. Written by `lorabake schema` from src/LoraBake/Recipes/RecipeSchema.cs; recipes/base.yaml explains every setting.",
            ["type"] = "object",
            ["additionalProperties"] = false,
            ["properties"] = sections,
        };
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        return root.ToJsonString(options).ReplaceLineEndings("\n") + "\n";
    }

    /// <summary>A section (or a subset item): an object of its settings, nothing else; an empty section is null in YAML.</summary>
    static JsonObject Section(Type record)
    {
        var properties = new JsonObject();
        foreach (var spec in RecipeSchema.Settings.Where(s => s.Property.DeclaringType == record)) properties[spec.Key] = Setting(spec);
        return new JsonObject
        {
            ["type"] = record == typeof(SubsetSettings) ? "object" : new JsonArray("object", "null"),
            ["additionalProperties"] = false,
            ["properties"] = properties,
        };
    }

    static JsonObject Setting(SettingSpec spec)
    {
        var kohya = spec.KohyaNames.Count == 0 ? "" : $" (sd-scripts/colab: {string.Join(", ", spec.KohyaNames.Select(k => k.Name))})";
        var schema = new JsonObject { ["description"] = $"{spec.Help}{kohya}. Changing it reruns {Stage(spec.Stage)} and what follows." };
        var type = spec.Property.PropertyType;
        var nullable = Nullable.GetUnderlyingType(type) != null
            || (!type.IsValueType && new System.Reflection.NullabilityInfoContext().Create(spec.Property).WriteState == System.Reflection.NullabilityState.Nullable);
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var item = type.GetGenericArguments()[0];
            if (item == typeof(SubsetSettings))
            {
                schema["type"] = "array";
                schema["items"] = Section(item);
            }
            else
            {
                // A single value stands for a list of one (prompts: "a cat").
                schema["type"] = new JsonArray("array", JsonType(item));
                schema["items"] = new JsonObject { ["type"] = JsonType(item) };
            }
        }
        else
        {
            schema["type"] = nullable ? new JsonArray(JsonType(type), "null") : JsonType(type);
            if (type.IsEnum) schema["enum"] = Names(type);
        }
        if (spec.Constraint != null) Merge(schema, spec.Constraint.JsonSchema);
        if (nullable && schema["enum"] is JsonArray values) values.Add(null);
        if (Value(spec.Default) is { } value) schema["default"] = value;
        return schema;
    }

    static string Stage(FingerprintedBy stage) => stage switch
    {
        FingerprintedBy.TrainEpoch => "every Train-Epoch stage",
        FingerprintedBy.TrainExport => "Train-Export",
        _ => stage.ToString(),
    };

    static string JsonType(Type t) =>
        t == typeof(bool) ? "boolean"
        : t == typeof(int) || t == typeof(long) ? "integer"
        : t == typeof(double) ? "number"
        : "string";

    /// <summary>An enum's names, and their lower-case spellings (the binder takes any case; base.yaml writes "epochs").</summary>
    static JsonArray Names(Type enumType) =>
        new(Enum.GetNames(enumType).SelectMany(n => new[] { n, n.ToLowerInvariant() }).Distinct(StringComparer.Ordinal).Select(n => (JsonNode?)n).ToArray());

    static JsonNode? Value(object? v) => v switch
    {
        null => null,
        Enum e => e.ToString(),
        string s => s,
        bool b => b,
        int i => i,
        long l => l,
        double d => d,
        System.Collections.IEnumerable list => new JsonArray(list.Cast<object?>().Select(Value).ToArray()),
        _ => throw new InvalidOperationException($"no JSON for a default of type {v.GetType()}"),
    };

    /// <summary>The constraint's keywords over the generated ones; nested objects (items) merge key by key.</summary>
    static void Merge(JsonObject into, JsonObject from)
    {
        foreach (var (key, node) in from)
        {
            if (node is JsonObject child && into[key] is JsonObject existing) Merge(existing, child);
            else into[key] = node?.DeepClone();
        }
    }
}
