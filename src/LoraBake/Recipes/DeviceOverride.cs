using LoraBake.Runtime;

namespace LoraBake.Recipes;

/// <summary>A command's <c>--device</c>: it replaces the recipe's <c>training.device</c> for that run (and so its fingerprints).</summary>
public static class DeviceOverride
{
    public const string Flag = "--device";

    public static Recipe Apply(Recipe recipe, string? device)
    {
        if (string.IsNullOrWhiteSpace(device)) return recipe;
        if (ComputeDevice.Problem(device) is { } problem) throw new UserError($"{Flag}: '{device}' {problem}.");
        return recipe with { Training = recipe.Training with { Device = device.Trim().ToLowerInvariant() } };
    }
}
