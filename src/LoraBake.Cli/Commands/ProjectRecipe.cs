using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Cli.Commands;

/// <summary>Loads a project's recipe for a command: every error at once (then a UserError, exit 1), warnings to stderr.</summary>
internal static class ProjectRecipe
{
    public static (RepoLayout Layout, Recipe Recipe, IReadOnlyList<string> Warnings) Load(string project, bool printWarnings = true, string? device = null)
    {
        ProjectSettings.Require(project);
        var layout = RepoLayout.Discover();
        var result = RecipeLoader.Load(layout, project);
        var recipe = DeviceOverride.Apply(result.ThrowIfErrors(), device);
        // Before any stage builds a model or computes a fingerprint that names the route.
        if (LoraBake.Numerics.NumericsGuard.ApplyRecipe(recipe.Training.ConvRoute, RecipeLoader.DisplayPath(layout.Root, recipe.SourcePath)) is { } routeError)
            throw new UserError(routeError);
        var warnings = result.Warnings.Select(w => w.Formatted).ToList();
        if (printWarnings) foreach (var w in warnings) Console.Error.WriteLine(w);
        return (layout, recipe, warnings);
    }
}
