using LoraBake.Data;

namespace LoraBake.Evaluation;

/// <summary>
/// The text that replaces `[trigger]` in evaluation prompts: the activation tags (kohya's keep_tokens) the
/// dataset trained in front of every caption. Rule: each training image (regularization images excluded)
/// contributes its first N tags, N being its subset's activation_tags, joined with ", "; the most common such
/// run wins, ties going to the one seen first in the index (ordinal path order). Images with fewer than N tags
/// or N = 0 contribute nothing; when nothing is contributed the trigger is empty (the grid then trims the
/// commas around `[trigger]`). With activation_tags = 1 and every caption starting with "bakechan", the
/// trigger is "bakechan".
/// </summary>
public static class DatasetTrigger
{
    public static string From(ProcessedIndex index)
    {
        var counts = new Dictionary<string, (int Count, int First)>(StringComparer.Ordinal);
        var position = 0;
        foreach (var image in index.Images)
        {
            position++;
            var n = image.ActivationTags;
            if (image.IsReg || n <= 0 || image.Tags.Count < n) continue;
            var lead = string.Join(", ", image.Tags.Take(n));
            counts[lead] = counts.TryGetValue(lead, out var c) ? (c.Count + 1, c.First) : (1, position);
        }
        return counts.Count == 0 ? ""
            : counts.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Value.First).First().Key;
    }
}
