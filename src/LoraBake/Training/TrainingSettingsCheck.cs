using LoraBake.Recipes;

namespace LoraBake.Training;

/// <summary>
/// Plan-time checks of the training settings this layer applies: the optimizer and its arguments (the optimizer is
/// built on no parameters, so every argument rule runs without a model) and the LoRA to continue from.
/// </summary>
public sealed class TrainingSettingsCheck : ISettingsCheck
{
    public void Check(Recipe recipe, string projectDir, SettingsReport report)
    {
        var t = recipe.Training;
        if (t.ContinueFromLora is { } lora && ContinueFromLora.Resolve(lora, projectDir, out var loraError) == null)
            report.Error("training.continue_from_lora", loraError!);
        var (errors, warnings) = OptimizerFactory.Check(t.Optimizer, t.OptimizerArgs, t.UnetLr, t.TextEncoderLr);
        foreach (var (key, message) in errors) report.Error(key, message);
        foreach (var (key, message) in warnings) report.Warn(key, message);
    }
}
