using LoraBake.Runtime;

namespace LoraBake.Tests.Recipes;

/// <summary>A throwaway repository in a temp folder: recipes/ holds copies of the real presets, projects/ is empty.</summary>
public sealed class RecipeTestRepo : IDisposable
{
    readonly TempFolder _folder = new("lorabake-recipes-");
    public RepoLayout Layout { get; }

    public RecipeTestRepo(bool withPresets = true)
    {
        Layout = new RepoLayout(_folder.Path);
        Directory.CreateDirectory(Layout.RecipesDir);
        Directory.CreateDirectory(Layout.ProjectsDir);
        if (withPresets)
            foreach (var f in Directory.GetFiles(PresetsDir, "*.yaml"))
                File.Copy(f, Path.Combine(Layout.RecipesDir, Path.GetFileName(f)));
    }

    /// <summary>The repository's own recipes/ folder.</summary>
    public static string PresetsDir => Path.Combine(RepoFolder.Root, "recipes");

    public string WriteProject(string name, string yaml)
    {
        var dir = Layout.ProjectDir(name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Layout.RecipePath(name), yaml);
        return Layout.RecipePath(name);
    }

    public string WriteRecipe(string name, string yaml)
    {
        var path = Path.Combine(Layout.RecipesDir, name + ".yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    public void Dispose() => _folder.Dispose();
}
