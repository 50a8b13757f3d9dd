using System.Text.Json.Nodes;

namespace LoraBake.Recipes;

/// <summary>What a rule decided: the (possibly normalised) value, or an error, and perhaps a warning.</summary>
internal readonly record struct RuleResult(object? Value, string? Error = null, string? Warning = null);

internal delegate RuleResult Rule(object? value);

/// <summary>
/// The allowed values of one setting, twice over: <see cref="Check"/> validates (and normalises) a bound value,
/// <see cref="JsonSchema"/> says the same to editors (minimum, maximum, enum, multipleOf, ...). Both are made
/// together by the factories in <see cref="RecipeRules"/>, so the two cannot say different things.
/// </summary>
internal sealed record SettingConstraint(Rule Check, JsonObject JsonSchema);
