using System.Reflection;
using System.Text.Json.Nodes;

namespace LoraBake.Pipeline;

/// <summary>
/// Collects a stage's inputs into a <see cref="Fingerprint"/>: its name and schema version, the LoraBake
/// version, the recipe fields it reads (<see cref="AddCanonical"/>, one component per leaf field so a plan can
/// say exactly which field changed) and the content hashes of its input files. Never timestamps.
/// </summary>
public sealed class FingerprintBuilder
{
    /// <summary>
    /// The program's identity: LoraBake.Core's informational version without its "+commit" suffix. The suffix is
    /// the commit of the repository that was built, and projects live in that same repository: committing a
    /// lorabake.lock would change it and make every stage stale again. Stages bump their SchemaVersion when
    /// their output changes; releases bump the version.
    /// </summary>
    public static string LoraBakeVersion { get; } = StripBuildMetadata(
        typeof(FingerprintBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(FingerprintBuilder).Assembly.GetName().Version?.ToString() ?? "0");

    internal static string StripBuildMetadata(string version) => version.Split('+')[0];

    /// <summary>A leaf value longer than this is recorded by its hash, keeping the lock file readable.</summary>
    private const int MaxInlineValue = 96;

    private readonly Dictionary<string, string> _components = new(StringComparer.Ordinal);

    public FingerprintBuilder(string stageName, int schemaVersion)
    {
        _components["stage"] = stageName;
        _components["schema"] = schemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _components["lorabake"] = LoraBakeVersion;
    }

    /// <summary>Adds one named input; a second Add of the same name replaces the first.</summary>
    public FingerprintBuilder Add(string name, string value)
    {
        _components[name] = value;
        return this;
    }

    /// <summary>An input file by content: component <c>input:NAME</c> = its SHA-256.</summary>
    public FingerprintBuilder AddFile(string name, string path) => Add("input:" + name, Hashing.Sha256File(path));

    /// <summary>
    /// A recipe section (or any record) in canonical form: in <see cref="Recipes.RecipeCanonical"/> form (snake_case, sorted, 8 and 8.0 alike) and flattened to one
    /// component per leaf, e.g. <c>recipe:model.sha256</c>, <c>recipe:evaluation.prompts[1]</c>. Null leaves are
    /// kept (as <c>null</c>) so that setting a field is a visible change.
    /// </summary>
    public FingerprintBuilder AddCanonical(string name, object recipeSection) =>
        AddCanonicalJson(name, Recipes.RecipeCanonical.Json(recipeSection));

    /// <summary>Like <see cref="AddCanonical"/> for a section already in JSON form.</summary>
    public FingerprintBuilder AddCanonicalJson(string name, string json)
    {
        Flatten("recipe:" + name, JsonNode.Parse(json));
        return this;
    }

    public Fingerprint Build() => Fingerprint.Of(_components);

    private void Flatten(string path, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj.Count == 0) { _components[path] = "{}"; break; }
                foreach (var (key, child) in obj) Flatten(path + "." + key, child);
                break;
            case JsonArray arr:
                _components[path + ".count"] = arr.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                for (var i = 0; i < arr.Count; i++) Flatten($"{path}[{i}]", arr[i]);
                break;
            case null:
                _components[path] = "null";
                break;
            default:
                var text = node.ToJsonString();
                _components[path] = text.Length <= MaxInlineValue ? text : "sha256:" + Hashing.Sha256Text(text);
                break;
        }
    }
}
