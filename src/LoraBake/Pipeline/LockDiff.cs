namespace LoraBake.Pipeline;

public enum LockChangeKind { Added, Removed, Changed }

/// <summary>One stage that differs between two lock files, with the reasons in the planner's words.</summary>
public sealed record LockStageChange(string Stage, LockChangeKind Kind, IReadOnlyList<string> Reasons);

/// <summary>
/// The difference between two lorabake.lock files in plain words: which stages were added, removed or changed,
/// and for a changed stage which fingerprint components changed ("recipe field training.unet_lr changed") and
/// which output files changed. Stages that are identical are left out.
/// </summary>
public static class LockDiff
{
    public static IReadOnlyList<LockStageChange> Compare(LockFile before, LockFile after)
    {
        var changes = new List<LockStageChange>();
        foreach (var now in after.Stages)
        {
            var old = before.Find(now.Name);
            if (old == null)
            {
                changes.Add(new LockStageChange(now.Name, LockChangeKind.Added, [$"new stage ({now.Outputs.Count} output file{(now.Outputs.Count == 1 ? "" : "s")})"]));
                continue;
            }
            var reasons = new List<string>();
            if (old.Fingerprint != now.Fingerprint)
            {
                var inputs = new Fingerprint(now.Fingerprint, now.Components).Diff(old.Components);
                reasons.AddRange(inputs.Count > 0 ? inputs : ["fingerprint changed"]);
            }
            reasons.AddRange(OutputChanges(old.Outputs, now.Outputs));
            if (reasons.Count > 0) changes.Add(new LockStageChange(now.Name, LockChangeKind.Changed, reasons));
        }
        foreach (var old in before.Stages.Where(s => after.Find(s.Name) == null))
            changes.Add(new LockStageChange(old.Name, LockChangeKind.Removed, ["stage no longer in the lock"]));
        return changes;
    }

    /// <summary>"output X changed (abc123… → def456…)", "output X added", "output X removed".</summary>
    public static IReadOnlyList<string> OutputChanges(IReadOnlyDictionary<string, string> before, IReadOnlyDictionary<string, string> after)
    {
        var list = new List<string>();
        foreach (var (file, sha) in after.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (!before.TryGetValue(file, out var old)) list.Add($"output {file} added");
            else if (old != sha) list.Add($"output {file} changed ({Short(old)} → {Short(sha)})");
        }
        foreach (var file in before.Keys.Where(k => !after.ContainsKey(k)).Order(StringComparer.Ordinal))
            list.Add($"output {file} removed");
        return list;
    }

    /// <summary>The changes as text: one line per stage and one indented line per reason; "no changes" when none.</summary>
    public static string Describe(IReadOnlyList<LockStageChange> changes, bool markdown)
    {
        if (changes.Count == 0) return markdown ? "No stage changed.\n" : "no changes\n";
        var sb = new System.Text.StringBuilder();
        foreach (var c in changes)
        {
            var what = c.Kind switch { LockChangeKind.Added => "added", LockChangeKind.Removed => "removed", _ => "changed" };
            sb.Append(markdown ? $"- **{c.Stage}** {what}\n" : $"{c.Stage}: {what}\n");
            foreach (var r in c.Reasons) sb.Append(markdown ? $"  - {r}\n" : $"  {r}\n");
        }
        return sb.ToString();
    }

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] : sha;
}
