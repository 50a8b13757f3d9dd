using LoraBake.Numerics;

namespace LoraBake.Pipeline;

/// <summary>The lock's float facts for a stage: where its numbers were computed, and a sketch of each output.</summary>
public static class FloatRecord
{
    /// <param name="ranHere">The stage ran in this process, so this machine's environment made its outputs.</param>
    /// <param name="previous">The lock's earlier record of the stage: its environment still holds for a cached entry of the same fingerprint.</param>
    public static LockFile.StageRecord Complete(LockFile.StageRecord record, string entryDir, bool ranHere, LockFile.StageRecord? previous)
    {
        bool sameEntry = previous is not null && previous.Fingerprint == record.Fingerprint
                         && previous.Outputs.Count == record.Outputs.Count && previous.Outputs.All(o => record.Outputs.TryGetValue(o.Key, out var h) && h == o.Value);
        var sketches = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, _) in record.Outputs)
        {
            if (sameEntry && previous!.Sketches.TryGetValue(file, out var known) && OutputSketch.Kinds.Contains(known.Split(' ')[0])) sketches[file] = known;
            else if (OutputSketch.Compute(Path.Combine(entryDir, file)) is { } sketch) sketches[file] = sketch.ToText();
        }
        string? numerics = ranHere ? NumericsGuard.Current.Environment : sameEntry ? previous!.Numerics : null;
        return record with { Sketches = sketches, Numerics = numerics };
    }
}
