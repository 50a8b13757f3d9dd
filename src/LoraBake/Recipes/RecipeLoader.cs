using LoraBake.Runtime;

namespace LoraBake.Recipes;

/// <summary>
/// Reads projects/NAME/project.yaml: parses it keeping positions, applies the `extends:` chain of presets
/// from recipes/ (child keys override parent keys, sections merge key by key, lists replace), binds and
/// validates every setting, and reports all problems at once as file:line:column diagnostics.
/// </summary>
public static class RecipeLoader
{
    /// <summary>The YAML sections and the records they fill.</summary>
    public static readonly IReadOnlyList<(string Name, Type Type)> Sections =
    [
        ("model", typeof(ModelSettings)), ("dataset", typeof(DatasetSettings)), ("training", typeof(TrainingSettings)),
        ("network", typeof(NetworkSettings)), ("evaluation", typeof(EvaluationSettings)),
    ];

    /// <summary>The colab stops above this many steps; here it is a warning.</summary>
    public const int ColabStepLimit = 10_000;

    /// <summary>Loads the project's recipe; never throws for problems in the files.</summary>
    public static RecipeLoadResult Load(RepoLayout layout, string project)
    {
        var path = layout.RecipePath(project);
        if (!File.Exists(path))
        {
            var display = DisplayPath(layout.Root, path);
            return new RecipeLoadResult(null,
                [new RecipeDiagnostic(display, 1, 1, "", $"project \"{project}\" has no recipe; create it with `lorabake new {project}` or write {display}")], []);
        }
        return LoadFile(path, layout.RecipesDir, project);
    }

    /// <summary>Loads the project's recipe or throws a <see cref="UserError"/> listing every error.</summary>
    public static Recipe LoadOrThrow(RepoLayout layout, string project) => Load(layout, project).ThrowIfErrors();

    /// <summary>
    /// Loads any recipe file (a project.yaml or a preset). Presets named by `extends:` come from
    /// <paramref name="recipesDir"/>; paths in messages are relative to its parent (the repository root).
    /// <paramref name="name"/> defaults to the project folder's name (or the file's name for a preset).
    /// </summary>
    public static RecipeLoadResult LoadFile(string path, string recipesDir, string? name = null)
    {
        path = Path.GetFullPath(path);
        recipesDir = Path.GetFullPath(recipesDir);
        var root = Path.GetDirectoryName(recipesDir.TrimEnd(Path.DirectorySeparatorChar)) ?? recipesDir;
        var errors = new List<RecipeDiagnostic>();
        var warnings = new List<RecipeDiagnostic>();
        string Display(string file) => DisplayPath(root, file);

        var tree = ReadWithParents(path, recipesDir, Display, errors, [], null);
        var binder = new RecipeBinder(Display, errors, warnings);
        var recipe = new Recipe
        {
            Name = name ?? (Path.GetFileName(path) == "project.yaml" ? Path.GetFileName(Path.GetDirectoryName(path)!) : Path.GetFileNameWithoutExtension(path)),
            SourcePath = path,
        };
        // An empty file would silently mean "all defaults", which is never what was meant.
        if (tree is null or YMapping { Entries.Count: 0 } && errors.Count == 0)
            errors.Add(new(Display(path), 1, 1, "", "the recipe is empty; write at least `extends: character-lora` and model.source (`lorabake new NAME` writes a commented one)"));
        if (tree is YMapping map)
        {
            foreach (var entry in map.Entries)
            {
                var key = entry.Key.Value;
                if (key == "project_name")
                    warnings.Add(new(Display(entry.Key.File), entry.Key.Line, entry.Key.Column, key, "is ignored; the project folder's name is the project's name"));
                else if (Sections.All(s => s.Name != key))
                    errors.Add(new(Display(entry.Key.File), entry.Key.Line, entry.Key.Column, key, TopLevelUnknown(key)));
            }
            recipe = recipe with
            {
                Model = binder.Bind<ModelSettings>(map.Find("model")?.Value, "model"),
                Dataset = binder.Bind<DatasetSettings>(map.Find("dataset")?.Value, "dataset"),
                Training = binder.Bind<TrainingSettings>(map.Find("training")?.Value, "training"),
                Network = binder.Bind<NetworkSettings>(map.Find("network")?.Value, "network"),
                Evaluation = binder.Bind<EvaluationSettings>(map.Find("evaluation")?.Value, "evaluation"),
            };
        }
        else if (tree != null)
        {
            errors.Add(new(Display(tree.File), tree.Line, tree.Column, "", "a recipe is a mapping with sections model:, dataset:, training:, network:, evaluation:"));
        }

        // The colab's Prodigy/DAdaptation switch, applied before any check so every rule sees the values used.
        var bound = recipe;
        recipe = AdaptiveOptimizerOverride.Apply(recipe);
        if (AdaptiveOptimizerOverride.Changes(bound, recipe) is { Count: > 0 } changes)
        {
            var at = binder.Places.GetValueOrDefault("training.optimizer");
            warnings.Add(new(at != null ? Display(at.File) : Display(path), at?.Line ?? 1, at?.Column ?? 1, "training.override_values_for_dadapt_and_prodigy",
                $"the colab's override for {recipe.Training.Optimizer} sets {string.Join(", ", changes)}; set override_values_for_dadapt_and_prodigy: false to use your own values"));
        }

        // Without a readable file the checks would only comment on defaults.
        if (tree != null)
            new RecipeChecks(recipe, Path.GetDirectoryName(path)!, binder.Places, Display, errors, warnings).Run();
        errors.Sort(ByPlace);
        warnings.Sort(ByPlace);
        return new RecipeLoadResult(errors.Count == 0 ? recipe : null, errors, warnings);
    }

    /// <summary>The folder a recipe's relative paths start from.</summary>
    public static string ProjectDir(Recipe recipe) => Path.GetDirectoryName(recipe.SourcePath) ?? ".";

    static int ByPlace(RecipeDiagnostic a, RecipeDiagnostic b)
    {
        int c = string.CompareOrdinal(a.File, b.File);
        if (c == 0) c = a.Line.CompareTo(b.Line);
        return c != 0 ? c : a.Column.CompareTo(b.Column);
    }

    static string TopLevelUnknown(string key)
    {
        var valid = Sections.Select(s => s.Name).Append("extends").ToArray();
        if (KeyNames.Closest(key, valid) is { } near) return $"unknown section; did you mean {near}?";
        foreach (var (name, type) in Sections)
            if (KeyNames.Keys(type).ContainsKey(key)) return $"unknown section; {key} belongs inside the {name}: section";
        if (RecipeSchema.KohyaNames.TryGetValue(key, out var ours)) return $"unknown section; the sd-scripts/colab setting {key} is {ours} here";
        return $"unknown section; a recipe has {string.Join(", ", valid)}";
    }

    /// <summary>Parses a file and, recursively, the presets it extends; returns the merged tree.</summary>
    static YNode? ReadWithParents(string path, string recipesDir, Func<string, string> display,
        List<RecipeDiagnostic> errors, List<string> chain, YScalar? extendedFrom)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            errors.Add(extendedFrom != null
                ? new(display(extendedFrom.File), extendedFrom.Line, extendedFrom.Column, "extends", $"cannot read {display(path)}: {e.Message}")
                : new(display(path), 1, 1, "", $"cannot read the recipe: {e.Message}"));
            return null;
        }
        var tree = YamlTree.Parse(text, path, display(path), errors);
        if (tree is not YMapping map) return tree;
        var ext = map.Find("extends");
        if (ext == null) return map;
        var child = map with { Entries = map.Entries.Where(e => e.Key.Value != "extends").ToList() };
        if (ext.Value is not YScalar { IsNull: false } nameNode)
        {
            if (ext.Value is not YScalar { IsNull: true })
                errors.Add(new(display(path), ext.Value.Line, ext.Value.Column, "extends", "must name one preset from recipes/ (for example extends: character-lora)"));
            return child;
        }
        var name = nameNode.Value.Trim();
        if (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)) name = name[..^5];
        if (name.Length == 0 || name.IndexOfAny(['/', '\\']) >= 0 || name.StartsWith('.'))
        {
            errors.Add(new(display(path), nameNode.Line, nameNode.Column, "extends", $"\"{nameNode.Value}\" is not a preset name; write the name of a file in recipes/ without .yaml"));
            return child;
        }
        var thisName = chain.Count == 0 && Path.GetFileName(path) == "project.yaml" ? display(path) : Path.GetFileNameWithoutExtension(path);
        var newChain = chain.Append(thisName).ToList();
        if (newChain.Contains(name))
        {
            errors.Add(new(display(path), nameNode.Line, nameNode.Column, "extends", $"extends cycle: {string.Join(" -> ", newChain.Append(name))}; remove one of these extends"));
            return child;
        }
        var parentPath = Path.Combine(recipesDir, name + ".yaml");
        if (!File.Exists(parentPath))
        {
            var available = Directory.Exists(recipesDir)
                ? Directory.GetFiles(recipesDir, "*.yaml").Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal).ToList()
                : [];
            var near = KeyNames.Closest(name, available);
            errors.Add(new(display(path), nameNode.Line, nameNode.Column, "extends",
                $"no preset \"{name}\" ({display(parentPath)} does not exist){(near != null ? $"; did you mean {near}?" : "")}; available: {(available.Count == 0 ? "none" : string.Join(", ", available))}"));
            return child;
        }
        var parent = ReadWithParents(parentPath, recipesDir, display, errors, newChain, nameNode);
        return parent is YMapping parentMap ? Merge(parentMap, child) : child;
    }

    /// <summary>
    /// Child over parent, key by key; mappings merge recursively, anything else (lists too) replaces. An empty
    /// section in the child (`training:` with every line commented out) keeps the parent's section.
    /// </summary>
    internal static YMapping Merge(YMapping parent, YMapping child)
    {
        var entries = new List<YEntry>();
        foreach (var p in parent.Entries)
        {
            var c = child.Find(p.Key.Value);
            if (c == null || (p.Value is YMapping && c.Value is YScalar { IsNull: true })) entries.Add(p);
            else if (p.Value is YMapping pm && c.Value is YMapping cm) entries.Add(new YEntry(c.Key, Merge(pm, cm)));
            else entries.Add(c);
        }
        entries.AddRange(child.Entries.Where(c => parent.Find(c.Key.Value) == null));
        return child with { Entries = entries };
    }

    /// <summary>A path relative to the repository root, with forward slashes, or the full path when outside it.</summary>
    public static string DisplayPath(string root, string file)
    {
        var rel = Path.GetRelativePath(root, file);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? file : rel.Replace('\\', '/');
    }
}
