namespace LoraBake.Recipes;

/// <summary>Every <see cref="ISettingsCheck"/> of this assembly, in a fixed order (by type name).</summary>
public static class SettingsChecks
{
    public static readonly IReadOnlyList<ISettingsCheck> All =
        typeof(ISettingsCheck).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ISettingsCheck).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => (ISettingsCheck)Activator.CreateInstance(t)!)
            .ToList();
}
