using System.Text;
using System.Text.Json;

namespace LoraBake.Pipeline;

/// <summary>
/// projects/NAME/lorabake.lock: for each built stage, its fingerprint, the components that went into it, its
/// output files' hashes and the store blobs it uses. Like dvc.lock, it is meant to be committed: the content
/// and key order are deterministic (stages in run order, keys sorted, no timestamps), so `git diff` shows
/// exactly which input or output changed. Written atomically after each stage.
/// </summary>
public sealed class LockFile
{
    public const int FormatVersion = 1;

    public sealed record StageRecord(
        string Name,
        string Fingerprint,
        IReadOnlyDictionary<string, string> Components,
        IReadOnlyDictionary<string, string> Outputs,
        IReadOnlyDictionary<string, long> Blobs,
        IReadOnlyDictionary<string, string>? Sketches = null,
        string? Numerics = null)
    {
        /// <summary>Output file → <see cref="OutputSketch"/> text, for outputs computed by float kernels.</summary>
        public IReadOnlyDictionary<string, string> Sketches { get; init; } = Sketches ?? new Dictionary<string, string>();
        /// <summary>What decided this stage's float results where it ran (<see cref="Numerics.NumericsGuard.Environment"/>); null when unknown.</summary>
        public string? Numerics { get; init; } = Numerics;
    }

    private readonly List<StageRecord> _stages;

    public string Project { get; }
    public IReadOnlyList<StageRecord> Stages => _stages;
    /// <summary>Problems met while reading (an unreadable lock is treated as empty, with a warning).</summary>
    public IReadOnlyList<string> Warnings { get; }

    public LockFile(string project, IEnumerable<StageRecord> stages, IReadOnlyList<string>? warnings = null)
    {
        Project = project;
        _stages = stages.ToList();
        Warnings = warnings ?? [];
    }

    public StageRecord? Find(string stage) => _stages.FirstOrDefault(s => s.Name == stage);

    /// <summary>This lock with <paramref name="record"/> set, stages ordered as <paramref name="order"/> (stages not in it are dropped).</summary>
    public LockFile With(StageRecord record, IReadOnlyList<string> order)
    {
        var byName = _stages.ToDictionary(s => s.Name, StringComparer.Ordinal);
        byName[record.Name] = record;
        return new LockFile(Project, order.Where(byName.ContainsKey).Select(n => byName[n]));
    }

    public static LockFile Read(string path)
    {
        var project = Path.GetFileName(Path.GetDirectoryName(path)) ?? "";
        if (!File.Exists(path)) return new LockFile(project, []);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            var stages = new List<StageRecord>();
            foreach (var s in root.GetProperty("stages").EnumerateArray())
            {
                stages.Add(new StageRecord(
                    s.GetProperty("name").GetString()!,
                    s.GetProperty("fingerprint").GetString()!,
                    Strings(s, "components"),
                    Strings(s, "outputs"),
                    s.TryGetProperty("blobs", out var b) ? b.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal) : new Dictionary<string, long>(),
                    Strings(s, "sketches"),
                    s.TryGetProperty("numerics", out var n) ? n.GetString() : null));
            }
            return new LockFile(root.TryGetProperty("project", out var p) ? p.GetString() ?? project : project, stages);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return new LockFile(project, [], [$"{path}: not a readable lock file ({e.Message}); it will be rewritten as stages run"]);
        }
    }

    private static Dictionary<string, string> Strings(JsonElement e, string name) =>
        e.TryGetProperty(name, out var o) ? o.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal) : new(StringComparer.Ordinal);

    /// <summary>The file's exact text: UTF-8, two-space indent, "\n" line ends, sorted keys inside each stage.</summary>
    public string ToText()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteNumber("lorabake_lock", FormatVersion);
            w.WriteString("project", Project);
            w.WriteStartArray("stages");
            foreach (var s in _stages)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                w.WriteString("fingerprint", s.Fingerprint);
                WriteSorted(w, "components", s.Components, (k, v) => w.WriteString(k, v));
                WriteSorted(w, "outputs", s.Outputs, (k, v) => w.WriteString(k, v));
                WriteSorted(w, "blobs", s.Blobs, (k, v) => w.WriteNumber(k, v));
                // Only stages whose outputs come from float kernels have these (older locks have neither).
                if (s.Numerics != null) w.WriteString("numerics", s.Numerics);
                if (s.Sketches.Count > 0) WriteSorted(w, "sketches", s.Sketches, (k, v) => w.WriteString(k, v));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    private static void WriteSorted<T>(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, T> items, Action<string, T> write)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in items.OrderBy(i => i.Key, StringComparer.Ordinal)) write(k, v);
        w.WriteEndObject();
    }

    /// <summary>Writes the lock atomically (temp file beside it, then rename); unchanged content is not rewritten.</summary>
    public void Write(string path)
    {
        var text = ToText();
        if (File.Exists(path) && File.ReadAllText(path) == text) return;
        AtomicFile.WriteAllText(path, text);
    }
}
