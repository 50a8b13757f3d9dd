using System.Reflection;

namespace LoraBake.Recipes;

/// <summary>The stage whose fingerprint a setting is part of: change the setting and that stage (and all after it) reruns.</summary>
public enum FingerprintedBy { Download, Process, TrainEpoch, TrainExport, Evaluate }

/// <summary>
/// A name users bring from kohya's sd-scripts or the colab, and what to write here instead.
/// <paramref name="Note"/> follows the setting's path in the message: " (with preferred_unit: steps)", ": 0".
/// </summary>
public sealed record KohyaName(string Name, string Note = "");

/// <summary>
/// Everything about one recipe setting: its YAML path, the record property that holds it (its C# type and its
/// default are that property's), the allowed values (<see cref="Constraint"/>: the check and its JSON Schema),
/// the help written beside it in recipes/base.yaml, its kohya/colab names and the stage it fingerprints.
/// One row of <see cref="RecipeSchema.Settings"/>.
/// </summary>
public sealed record SettingSpec(
    string Path,
    PropertyInfo Property,
    string Help,
    FingerprintedBy Stage,
    IReadOnlyList<KohyaName> KohyaNames)
{
    internal SettingConstraint? Constraint { get; init; }

    /// <summary>The key within its section: unet_lr for training.unet_lr.</summary>
    public string Key => Path[(Path.LastIndexOf('.') + 1)..];

    /// <summary>training for training.unet_lr; dataset.subsets[] for a subset's keys.</summary>
    public string Section => Path[..Path.LastIndexOf('.')];

    /// <summary>The value a recipe has when nothing sets it: the record's initial value.</summary>
    public object? Default => Property.GetValue(Activator.CreateInstance(Property.DeclaringType!));
}
