namespace LoraBake.Data;

/// <summary>The caption settings a training sample needs (recipe `dataset:` keys, kohya names in comments).</summary>
/// <param name="ActivationTags">keep_tokens: leading tags kept in front, in order, never shuffled or dropped.</param>
/// <param name="ShuffleTags">shuffle_caption: shuffle the remaining tags each time.</param>
/// <param name="CaptionDropoutRate">caption_dropout_rate: probability the whole caption becomes "".</param>
/// <param name="CaptionTagDropoutRate">caption_tag_dropout_rate: probability each non-kept tag is dropped.</param>
/// <param name="Seed">The training seed.</param>
public sealed record CaptionSettings(
    int ActivationTags = 1,
    bool ShuffleTags = true,
    double CaptionDropoutRate = 0,
    double CaptionTagDropoutRate = 0,
    long Seed = 42);

/// <summary>
/// The caption a training step sees, kohya's process_caption order (docs/kohya-compatibility.md, "Captions"): whole-caption dropout,
/// then the first keep_tokens tags fixed, the rest shuffled and tag-dropped, joined with ", ". Every random
/// choice comes from a <see cref="DeterministicRng"/> keyed by (seed, epoch, sample index), so a resumed or
/// re-run epoch sees exactly the same captions.
/// </summary>
public static class CaptionBuilder
{
    /// <param name="written">The caption as written: kohya trains it unchanged when neither shuffling nor tag
    /// dropout is on (it only splits tags for those). Null = the tags joined with ", ".</param>
    public static string Build(IReadOnlyList<string> tags, int epoch, long sampleIndex, CaptionSettings settings, string? written = null)
    {
        var rng = new DeterministicRng(settings.Seed, epoch, sampleIndex);
        // Draw the dropout decision first and always, so enabling it does not change the shuffles of other samples.
        var dropCaption = rng.NextDouble() < settings.CaptionDropoutRate;
        if (dropCaption) return "";
        if (!settings.ShuffleTags && settings.CaptionTagDropoutRate <= 0 && written != null) return written;
        var keep = Math.Clamp(settings.ActivationTags, 0, tags.Count);
        var flex = tags.Skip(keep).ToList();
        if (settings.ShuffleTags) rng.Shuffle(flex);
        if (settings.CaptionTagDropoutRate > 0)
            flex = [.. flex.Where(_ => rng.NextDouble() >= settings.CaptionTagDropoutRate)];
        return string.Join(", ", tags.Take(keep).Concat(flex));
    }
}
