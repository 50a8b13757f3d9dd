namespace LoraBake.Pipeline;

/// <summary>
/// A stage's cache key. <see cref="Hash"/> is the SHA-256 of <see cref="Components"/> (sorted by name), and the
/// components say what went in: name → value or content hash. Comparing the components of two fingerprints
/// tells which input changed (<see cref="Diff"/>). Component names carry a prefix that says what they are:
/// <c>recipe:model.sha256</c>, <c>upstream:Download</c>, <c>input:dataset/a.png</c>; plus <c>stage</c>,
/// <c>schema</c> and <c>lorabake</c> (the program version).
/// </summary>
public sealed record Fingerprint(string Hash, IReadOnlyDictionary<string, string> Components)
{
    /// <summary>The hash of a component set: SHA-256 of "name=value\n" lines in ordinal order of name.</summary>
    public static Fingerprint Of(IEnumerable<KeyValuePair<string, string>> components)
    {
        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in components) sorted[k] = v;
        var text = new System.Text.StringBuilder();
        // Names and values are escaped so that "a=b\n" inside a value cannot forge another component.
        foreach (var (k, v) in sorted) text.Append(Escape(k)).Append('=').Append(Escape(v)).Append('\n');
        return new Fingerprint(Hashing.Sha256Text(text.ToString()), sorted);
    }

    /// <summary>This fingerprint with more components mixed in (the planner adds upstream fingerprints this way).</summary>
    public Fingerprint With(IEnumerable<KeyValuePair<string, string>> more) => Of(Components.Concat(more));

    /// <summary>Human-readable differences from <paramref name="before"/>, e.g. "recipe field model.sha256 changed".</summary>
    public IReadOnlyList<string> Diff(IReadOnlyDictionary<string, string> before)
    {
        var changes = new List<string>();
        foreach (var (name, value) in Components)
        {
            if (!before.TryGetValue(name, out var old)) changes.Add(Describe(name, "added", null, value));
            else if (old != value) changes.Add(Describe(name, "changed", old, value));
        }
        foreach (var name in before.Keys.Where(k => !Components.ContainsKey(k)).Order(StringComparer.Ordinal))
            changes.Add(Describe(name, "removed", before[name], null));
        return changes;
    }

    private static string Describe(string name, string what, string? old, string? now)
    {
        var colon = name.IndexOf(':');
        var (prefix, rest) = colon < 0 ? ("", name) : (name[..colon], name[(colon + 1)..]);
        return prefix switch
        {
            "recipe" => $"recipe field {rest} {what}",
            "upstream" => $"upstream stage {rest} {what}",
            "input" => $"input {rest} {what}",
            _ when name == "lorabake" => $"LoraBake version {what} ({old ?? "-"} → {now ?? "-"})",
            _ when name == "schema" => $"stage schema version {what} ({old ?? "-"} → {now ?? "-"})",
            _ => $"{name} {what}",
        };
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("=", "\\=");
}
