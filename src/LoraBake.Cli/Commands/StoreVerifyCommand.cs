using System.ComponentModel;
using System.Globalization;
using LoraBake.Download;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake store verify [--rehash]`: the store's fsck, with a summary; exit 1 when something is damaged.</summary>
[Description("Check every blob and entry of the store (.lorabake/) against its recorded SHA-256 and print a summary; exit code 1 if anything is damaged.")]
public sealed class StoreVerifyCommand : Command<StoreVerifyCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--rehash")]
        [Description("Read and hash every file, even those already verified and unchanged since (same size, times and inode).")]
        public bool Rehash { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var layout = RepoLayout.Discover();
        var store = new ArtifactStore(layout.StoreDir);
        var r = StoreCheck.Run(store, settings.Rehash, line => Console.Error.WriteLine(line));
        foreach (var d in r.Damaged) Console.WriteLine($"DAMAGED {d}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"store {store.Root}: {r.Blobs} blobs and {r.Entries} entries checked, {r.Damaged.Count} damaged; " +
            $"{r.FilesHashed} files ({ConsoleDownloadProgress.Bytes(r.BytesHashed)}) hashed in {r.Elapsed.TotalSeconds:0.00} s, the rest verified by stat."));
        if (!r.Ok)
            Console.WriteLine("A build rebuilds a damaged entry by itself when it needs it; `lorabake store gc` removes what no lock needs.");
        return r.Ok ? 0 : 1;
    }
}
