using System.Globalization;
using Spectre.Console;

namespace LoraBake.Data;

/// <summary>The dataset report as console tables: totals, buckets with steps, and every skipped file with its reason.</summary>
public static class DatasetReportConsole
{
    public static void Write(IAnsiConsole console, DatasetReport r, ProcessCounters? counters = null)
    {
        var inv = CultureInfo.InvariantCulture;
        var summary = new Table().Title($"[bold]dataset {Markup.Escape(r.Project)}[/]").HideHeaders()
            .AddColumn("item").AddColumn(new TableColumn("value").RightAligned());
        summary.AddRow("images used", r.UsedCount.ToString(inv));
        summary.AddRow("files skipped", r.SkippedCount.ToString(inv));
        summary.AddRow("duplicate groups", r.Duplicates.Count.ToString(inv));
        summary.AddRow("orphan captions", r.OrphanCaptions.Count.ToString(inv));
        summary.AddRow($"steps per epoch (batch {r.StepsPerEpoch.BatchSize})", r.StepsPerEpoch.Real.ToString(inv));
        summary.AddRow("colab estimate (images×repeats÷batch)", r.StepsPerEpoch.ColabEstimate.ToString("0.##", inv));
        if (counters != null)
            summary.AddRow("processed / from cache / files hashed", $"{counters.Processed} / {counters.CacheHits} / {counters.FilesHashed}");
        console.Write(summary);

        var subsets = new Table().AddColumn("subset").AddColumn("repeats").AddColumn("class tokens").AddColumn(new TableColumn("images").RightAligned());
        foreach (var s in r.Subsets)
            subsets.AddRow(Markup.Escape(s.Name), s.NumRepeats.ToString(inv), Markup.Escape(s.ClassTokens), s.Images.ToString(inv));
        console.Write(subsets);

        var buckets = new Table().AddColumn("bucket").AddColumn(new TableColumn("images").RightAligned())
            .AddColumn(new TableColumn("× repeats").RightAligned()).AddColumn(new TableColumn("batches").RightAligned());
        foreach (var (name, b) in r.StepsPerEpoch.PerBucket)
            buckets.AddRow(name, b.Images.ToString(inv), b.Samples.ToString(inv), b.Batches.ToString(inv));
        console.Write(buckets);

        var skipped = r.Images.Where(i => i.Status == "skipped").ToList();
        if (skipped.Count > 0)
        {
            var t = new Table().AddColumn("skipped").AddColumn("reason");
            foreach (var s in skipped) t.AddRow(Markup.Escape(s.Path), Markup.Escape(s.Reason ?? ""));
            console.Write(t);
        }
        foreach (var o in r.OrphanCaptions) console.MarkupLineInterpolated($"[yellow]orphan caption[/] {o}");
        foreach (var w in r.Warnings.Where(w => !w.Contains("(orphan)", StringComparison.Ordinal)))
            console.MarkupLineInterpolated($"[yellow]warning[/] {w}");
    }
}
