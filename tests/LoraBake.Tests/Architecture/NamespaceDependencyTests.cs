using System.Text.RegularExpressions;
using LoraBake.Runtime;

namespace LoraBake.Tests.Architecture;

/// <summary>
/// The library's layers: which namespace of LoraBake.Core may use which. A use missing from the table fails
/// with the type and file that made it, so a cycle (or a new edge nobody decided on) fails CI; the table itself
/// must stay acyclic. Sub-namespaces count as their layer (LoraBake.Models.UNet is Models). The stage registry,
/// which knows every concrete stage, is the CLI's (the composition root) and is not in this assembly.
/// </summary>
public class NamespaceDependencyTests
{
    /// <summary>Layer → the layers it may use, lowest layers first. Keep it acyclic; widen it on purpose only.</summary>
    static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Runtime"] = [],
        ["Numerics"] = [],
        ["Diffusion"] = ["Numerics"],
        ["Models"] = ["Numerics", "Runtime"],
        ["Networks"] = ["Models", "Numerics", "Runtime"],
        ["Recipes"] = ["Networks", "Runtime"],
        // The store records float routes (Numerics) and sketches .safetensors outputs (Models.Checkpoints) in the lock.
        ["Pipeline"] = ["Recipes", "Models", "Numerics", "Runtime"],
        ["Download"] = ["Pipeline", "Models", "Recipes", "Runtime"],
        ["Data"] = ["Pipeline", "Recipes", "Runtime"],
        ["Sampling"] = ["Diffusion", "Networks", "Pipeline", "Models", "Numerics", "Runtime"],
        ["Training"] = ["Data", "Download", "Pipeline", "Diffusion", "Networks", "Models", "Recipes", "Numerics", "Runtime"],
        // The procedural toy world: its generator, concept detector and the pretraining of builtin:toy-sd1.
        ["ToyWorld"] = ["Training", "Data", "Diffusion", "Networks", "Models", "Numerics", "Runtime"],
        ["Evaluation"] = ["ToyWorld", "Training", "Sampling", "Data", "Download", "Pipeline", "Networks", "Models", "Recipes", "Numerics", "Runtime"],
    };

    static string CoreAssembly => typeof(RepoLayout).Assembly.Location;

    [Fact]
    public void Every_use_between_layers_is_in_the_allowed_table()
    {
        var sources = SourceFiles();
        var offending = LayerUses()
            .Where(u => !Allowed.TryGetValue(u.FromLayer, out var to) || !to.Contains(u.ToLayer))
            .GroupBy(u => (u.FromLayer, u.ToLayer))
            .Select(g => $"{g.Key.FromLayer} → {g.Key.ToLayer}:\n" + string.Join("\n", g.Select(u =>
                $"    {sources.GetValueOrDefault(u.Use.From, "?")}: {u.Use.From} uses {u.Use.To}")))
            .ToList();
        Assert.True(offending.Count == 0,
            "uses the layer table in NamespaceDependencyTests does not allow (move the type, or widen the table on purpose):\n"
            + string.Join("\n", offending));
    }

    [Fact]
    public void The_allowed_table_has_no_cycle() =>
        Assert.Null(Cycle(Allowed.ToDictionary(kv => kv.Key, kv => (IEnumerable<string>)kv.Value)));

    [Fact]
    public void The_layers_as_built_have_no_cycle()
    {
        var graph = LayerUses().GroupBy(u => u.FromLayer).ToDictionary(g => g.Key, g => g.Select(u => u.ToLayer).Distinct());
        Assert.Null(Cycle(graph));
    }

    [Fact]
    public void Every_layer_of_the_library_is_in_the_table()
    {
        var layers = TypeUses.Read(CoreAssembly).SelectMany(u => new[] { u.From, u.To }).Select(Layer).OfType<string>().Distinct();
        Assert.Empty(layers.Except(Allowed.Keys));
    }

    /// <summary>The check itself: the reader finds a use a file makes, and the cycle finder finds a cycle.</summary>
    [Fact]
    public void The_check_sees_a_known_use_and_a_known_cycle()
    {
        var uses = TypeUses.Read(CoreAssembly);
        Assert.Contains(uses, u => u.From == "LoraBake.Training.EpochTrainer" && u.To == "LoraBake.Diffusion.NoiseSchedule");
        Assert.DoesNotContain("Training", Allowed["Diffusion"]);
        Assert.Equal("Diffusion", Layer("LoraBake.Diffusion.NoiseSchedule"));
        Assert.NotNull(Cycle(new Dictionary<string, IEnumerable<string>> { ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["A"] }));
    }

    sealed record LayerUse(string FromLayer, string ToLayer, TypeUse Use);

    static IEnumerable<LayerUse> LayerUses() =>
        from u in TypeUses.Read(CoreAssembly)
        let user = Layer(u.From)
        let used = Layer(u.To)
        where user != null && used != null && user != used
        select new LayerUse(user, used, u);

    /// <summary>"LoraBake.Models.UNet.Attention" → "Models"; null for compiler-made types outside LoraBake.</summary>
    static string? Layer(string fullName)
    {
        var parts = fullName.Split('.');
        return parts.Length >= 3 && parts[0] == "LoraBake" ? parts[1] : null;
    }

    /// <summary>A cycle as "A → B → A", or null.</summary>
    static string? Cycle(Dictionary<string, IEnumerable<string>> graph)
    {
        var state = new Dictionary<string, int>(); // 1 on the path, 2 done
        var path = new List<string>();
        string? Visit(string node)
        {
            if (state.GetValueOrDefault(node) == 2) return null;
            if (state.GetValueOrDefault(node) == 1) return string.Join(" → ", path.Skip(path.IndexOf(node)).Append(node));
            state[node] = 1;
            path.Add(node);
            foreach (var next in graph.GetValueOrDefault(node, []))
                if (Visit(next) is { } cycle) return cycle;
            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }
        return graph.Keys.Select(Visit).FirstOrDefault(c => c != null);
    }

    /// <summary>Type full name → the file under src/LoraBake that declares it, for the failure message.</summary>
    static Dictionary<string, string> SourceFiles()
    {
        var src = Path.Combine(RepoFolder.Root, "src", "LoraBake");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")) continue;
            string text = File.ReadAllText(file);
            string ns = Regex.Match(text, @"^namespace\s+([\w.]+)", RegexOptions.Multiline).Groups[1].Value;
            foreach (Match m in Regex.Matches(text, @"\b(?:class|struct|record|interface|enum)\s+(\w+)"))
                map.TryAdd(ns + "." + m.Groups[1].Value, Path.GetRelativePath(RepoFolder.Root, file));
        }
        return map;
    }
}
