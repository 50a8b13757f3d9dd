using System.ComponentModel;
using LoraBake.Download;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake store gc [--dry-run]`: removes the store entries and blobs no project's lorabake.lock needs.</summary>
[Description("Remove the store entries and blobs that no project's lorabake.lock needs (with --dry-run: list them with their sizes and remove nothing).")]
public sealed class StoreGcCommand : Command<StoreGcCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dry-run")]
        [Description("Only list what would be removed, with sizes.")]
        public bool DryRun { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var layout = RepoLayout.Discover();
        var r = StoreGarbageCollector.Collect(layout, settings.DryRun);
        var verb = r.DryRun ? "would remove" : "removed";
        if (r.DryRun)
            foreach (var item in r.Removed) Console.WriteLine($"{verb} {item.Path} ({ConsoleDownloadProgress.Bytes(item.Bytes)})");
        foreach (var group in r.Removed.GroupBy(i => i.Path.StartsWith("entries/", StringComparison.Ordinal) ? i.Path.Split('/')[1] : "objects").OrderBy(g => g.Key, StringComparer.Ordinal))
            Console.WriteLine($"  {group.Key}: {group.Count()} ({ConsoleDownloadProgress.Bytes(group.Sum(i => i.Bytes))})");
        Console.WriteLine($"store gc: {verb} {r.Removed.Count} entries and blobs, {ConsoleDownloadProgress.Bytes(r.Bytes)}; kept {r.EntriesKept} entries and {r.BlobsKept} blobs that a lock needs.");
        return 0;
    }
}
