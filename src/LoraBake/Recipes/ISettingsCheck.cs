namespace LoraBake.Recipes;

/// <summary>
/// A plan-time check of the settings a layer above Recipes consumes, written by that layer: Training checks its
/// optimizer arguments and starting LoRA, Evaluation its prompts and grid axes. Recipes defines the contract and
/// runs every implementation in this assembly (<see cref="SettingsChecks"/>), so it needs no reference to the
/// layers it serves and their rules live beside the code that applies them.
/// </summary>
public interface ISettingsCheck
{
    /// <param name="report">Where errors and warnings go, each under the YAML key path it is about.</param>
    void Check(Recipe recipe, string projectDir, SettingsReport report);
}

/// <summary>Collects a check's findings by key path (placed at file:line:column by the loader).</summary>
public sealed class SettingsReport(Action<string, string> error, Action<string, string> warn)
{
    public void Error(string keyPath, string message) => error(keyPath, message);
    public void Warn(string keyPath, string message) => warn(keyPath, message);
}
