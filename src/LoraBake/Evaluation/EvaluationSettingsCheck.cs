using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>
/// Plan-time checks of the evaluation settings: every &lt;lora:…&gt; in a prompt or axis names a file that exists, and
/// the grid and its axes build as Evaluate will build them (for the epochs of a how_many-epoch run).
/// </summary>
public sealed class EvaluationSettingsCheck : ISettingsCheck
{
    public void Check(Recipe recipe, string projectDir, SettingsReport report)
    {
        var ev = recipe.Evaluation;
        foreach (var (key, text) in ev.Prompts.Select(p => ("evaluation.prompts", p)).Append(("evaluation.negative_prompt", ev.NegativePrompt))
                     .Append(("evaluation.x_axis", ev.XAxis ?? "")).Append(("evaluation.y_axis", ev.YAxis ?? "")).Append(("evaluation.z_axis", ev.ZAxis ?? "")))
        {
            try { PromptLoras.In(text, projectDir); }
            catch (UserError e) { report.Error(key, e.Message.StartsWith("prompt: ", StringComparison.Ordinal) ? e.Message["prompt: ".Length..] : e.Message); }
        }

        if (recipe.Training.PreferredUnit != PreferredUnit.Epochs) return;
        try { EvaluationGrid.Build(ev, Enumerable.Range(1, recipe.Training.HowMany).ToList(), "trigger"); }
        catch (UserError e)
        {
            var colon = e.Message.IndexOf(": ", StringComparison.Ordinal);
            var key = colon > 0 && e.Message.StartsWith("evaluation.", StringComparison.Ordinal) ? e.Message[..colon] : "evaluation";
            report.Error(key, colon > 0 && key != "evaluation" ? e.Message[(colon + 2)..] : e.Message);
        }
    }
}
