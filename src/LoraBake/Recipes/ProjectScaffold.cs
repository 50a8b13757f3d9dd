using LoraBake.Runtime;

namespace LoraBake.Recipes;

/// <summary>
/// `lorabake new NAME`: a project folder with a project.yaml that extends a preset and an empty dataset/
/// folder explaining what goes in it. The folder is written under a temporary name and renamed into place.
/// </summary>
public static class ProjectScaffold
{
    /// <summary>Why <paramref name="name"/> cannot be a project name, or null when it can (the rule of every command: <see cref="ProjectName"/>).</summary>
    public static string? NameProblem(string name) => ProjectName.Problem(name);

    /// <summary>Creates projects/NAME; returns its folder. Throws <see cref="UserError"/> for a bad name, an existing project or an unknown preset.</summary>
    public static string Create(RepoLayout layout, string name, string preset = "character-lora")
    {
        if (NameProblem(name) is { } problem) throw new UserError(problem);
        var dir = layout.ProjectDir(name);
        if (Directory.Exists(dir) || File.Exists(dir))
            throw new UserError($"{RecipeLoader.DisplayPath(layout.Root, dir)} already exists; pick another name or edit its project.yaml");
        var presetPath = Path.Combine(layout.RecipesDir, preset + ".yaml");
        if (preset.IndexOfAny(['/', '\\']) >= 0 || !File.Exists(presetPath))
        {
            var available = Directory.Exists(layout.RecipesDir)
                ? Directory.GetFiles(layout.RecipesDir, "*.yaml").Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal).ToList()
                : [];
            throw new UserError($"no preset \"{preset}\" in {RecipeLoader.DisplayPath(layout.Root, layout.RecipesDir)}/; available: {(available.Count == 0 ? "none" : string.Join(", ", available))}");
        }

        Directory.CreateDirectory(layout.ProjectsDir);
        var temp = Path.Combine(layout.ProjectsDir, $".{name}.new-{Environment.ProcessId}");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(Path.Combine(temp, "dataset"));
        File.WriteAllText(Path.Combine(temp, "project.yaml"), ProjectYaml(name, preset));
        File.WriteAllText(Path.Combine(temp, "dataset", "README.md"), DatasetReadme(name));
        try
        {
            Directory.Move(temp, dir);
        }
        catch (IOException) when (Directory.Exists(dir))
        {
            Directory.Delete(temp, recursive: true);
            throw new UserError($"{RecipeLoader.DisplayPath(layout.Root, dir)} already exists; pick another name or edit its project.yaml");
        }
        return dir;
    }

    /// <summary>The first line of a project.yaml: editors that speak the YAML language server complete and check it with the schema.</summary>
    public const string SchemaLine = "# yaml-language-server: $schema=../../recipes/lorabake.schema.json";

    static string ProjectYaml(string name, string preset) => $$"""
        {{SchemaLine}}
        # {{name}}: a LoRA recipe. Every setting not written here comes from recipes/{{preset}}.yaml
        # (which extends recipes/base.yaml, where each setting is explained). Uncomment a line to change it.
        extends: {{preset}}

        # model:
        #   source: anime          # anime | anylora | sd15 | builtin:tiny-sd1 | an http(s) URL | path to a .safetensors

        # dataset:
        #   activation_tags: 1     # leading caption tags kept first: your trigger word
        #   num_repeats: 10        # aim for images × repeats ≈ 200–400 per epoch

        # training:
        #   how_many: 10           # epochs to train
        #   unet_lr: 5e-4
        #   text_encoder_lr: 1e-4

        # network:
        #   network_dim: 16
        #   network_alpha: 8

        # evaluation:
        #   prompts:
        #     - "[trigger], solo, looking at viewer"

        """;

    static string DatasetReadme(string name) => $"""
        # {name} dataset

        Put the training images here (.png, .jpg, .jpeg, .webp, .bmp), each with a caption file of the same name: `001.png` + `001.txt` (comma-separated tags, trigger word first), or use subfolders named `N_name` (e.g. `10_{name}`) whose images are repeated N times per epoch.

        """;
}
