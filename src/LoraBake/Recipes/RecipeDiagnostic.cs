namespace LoraBake.Recipes;

/// <summary>
/// One problem in a recipe: where it is (file as shown to the user, 1-based line and column), which setting
/// (`training.unet_lr`, empty when not about a key) and what is wrong and allowed.
/// </summary>
public sealed record RecipeDiagnostic(string File, int Line, int Column, string KeyPath, string Message)
{
    /// <summary>`projects/demo/project.yaml:12:3: training.unet_lrr: unknown key; did you mean unet_lr?`</summary>
    public string Formatted => KeyPath.Length == 0
        ? $"{File}:{Line}:{Column}: {Message}"
        : $"{File}:{Line}:{Column}: {KeyPath}: {Message}";

    public override string ToString() => Formatted;
}

/// <summary>The outcome of loading a recipe: the recipe when there are no errors, and every problem found.</summary>
public sealed record RecipeLoadResult(Recipe? Recipe, IReadOnlyList<RecipeDiagnostic> Errors, IReadOnlyList<RecipeDiagnostic> Warnings)
{
    public bool Success => Errors.Count == 0 && Recipe != null;

    /// <summary>All errors, one per line, in file order.</summary>
    public string FormatErrors() => string.Join(Environment.NewLine, Errors.Select(e => e.Formatted));

    /// <summary>The recipe, or a <see cref="LoraBake.Runtime.UserError"/> whose message lists every error.</summary>
    public Recipe ThrowIfErrors()
    {
        if (Success) return Recipe!;
        var file = Errors.Count > 0 ? Errors[0].File : "recipe";
        var n = Errors.Count;
        throw new LoraBake.Runtime.UserError(
            $"{file}: {n} problem{(n == 1 ? "" : "s")} in the recipe; fix {(n == 1 ? "it" : "them")} and run again:{Environment.NewLine}{FormatErrors()}");
    }
}
