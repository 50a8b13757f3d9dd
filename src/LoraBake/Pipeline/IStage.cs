namespace LoraBake.Pipeline;

/// <summary>
/// One cached step of the pipeline (Download, Process, Train-Epoch-NN, Evaluate).
/// The planner calls <see cref="ComputeFingerprint"/> for every stage on every plan, so it must be cheap
/// and read only inputs: recipe fields, file hashes, and <see cref="StageResult.Fingerprint"/> of upstream
/// stages (their outputs may not exist yet). The planner itself mixes each upstream fingerprint into the
/// result (<c>upstream:NAME</c>), so a stage need not add them.
/// <see cref="Run"/> does the work into <see cref="EntryWriter.Directory"/>; the runner commits the entry.
/// Files under <c>publish/</c> in the entry are copied to output/NAME/ (what the user keeps).
/// </summary>
public interface IStage
{
    /// <summary>"Download", "Process", "Train-Epoch-01", "Evaluate": the Cake task name too.</summary>
    string Name { get; }
    /// <summary>Bump when the stage's output format or algorithm changes: old cache entries become stale.</summary>
    int SchemaVersion { get; }
    /// <summary>Names of the stages whose outputs this one reads.</summary>
    IReadOnlyList<string> DependsOn { get; }
    Fingerprint ComputeFingerprint(StageContext context);
    /// <summary>
    /// Whether the outputs are computed by float kernels (training, rendering), whose last bits depend on the
    /// CPU, LibTorch, thread count and convolution route: the lock then records those and a sketch of each
    /// output, so `verify` can compare across machines within a tolerance.
    /// </summary>
    bool ProducesFloatResults => false;
    void Run(StageContext context, EntryWriter output);
}
