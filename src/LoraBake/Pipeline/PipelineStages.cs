namespace LoraBake.Pipeline;

/// <summary>
/// The stages this build of LoraBake has, one Register line per slot. A slot without a line is planned as
/// "not available yet". Stages live in their own folders (Pipeline/Download, Data/, Training/, Evaluation/).
/// </summary>
public static class PipelineStages
{
    public static StageCatalog CreateCatalog()
    {
        var catalog = new StageCatalog();
        catalog.Register(StageCatalog.Process, _ => [new LoraBake.Data.ProcessStage()]);
        return catalog;
    }
}
