namespace LoraBake.Evaluation;

/// <summary>What an X/Y/Z axis varies (the webui X/Y/Z plot's axis types that apply to a LoRA).</summary>
public enum AxisKind
{
    /// <summary>Which saved epoch file is loaded; the grid adds a baseline value (no LoRA).</summary>
    Epoch,
    /// <summary>The LoRA multiplier, as in `&lt;lora:NAME:W&gt;`.</summary>
    Weight,
    /// <summary>Which of the recipe's prompts.</summary>
    Prompt,
    /// <summary>The seed; when no axis shows seeds, every cell renders all seeds as a batch.</summary>
    Seed,
    /// <summary>webui "Prompt S/R": values[0] is searched for and each value replaces it.</summary>
    PromptSR,
}
