using System.Diagnostics;
using System.Net.Sockets;
using LoraBake.Data;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Data;

/// <summary>
/// A dataset folder as real machines have them: named pipes, links to devices, sockets, broken links and links
/// leaving the folder. Only regular files are read, decided by lstat before anything is opened, so nothing
/// blocks and nothing crashes; every other entry is skipped with its reason. (Unix only: Windows has none of these.)
/// </summary>
public sealed class DatasetSpecialFilesTests : IDisposable
{
    readonly TempFolder _root = new("lorabake-special-");
    string ProjectDir => Path.Combine(_root, "projects", "p");
    string Dataset => Path.Combine(ProjectDir, "dataset");

    public DatasetSpecialFilesTests()
    {
        Directory.CreateDirectory(Dataset);
        using var img = new Image<Rgb24>(64, 64, new Rgb24(200, 30, 30));
        img.SaveAsPng(Path.Combine(Dataset, "good.png"));
        File.WriteAllText(Path.Combine(Dataset, "good.txt"), "pchan, red");
    }

    public void Dispose() => _root.Dispose();

    static void MkFifo(string path)
    {
        using var p = System.Diagnostics.Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>Every special kind of entry, each named like an image (and a caption) so only its kind can reject it.</summary>
    Socket? MakeSpecialFiles()
    {
        MkFifo(Path.Combine(Dataset, "pipe.png"));
        MkFifo(Path.Combine(Dataset, "good2.txt"));   // a caption that is a pipe
        File.CreateSymbolicLink(Path.Combine(Dataset, "zero.png"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(Dataset, "random.jpg"), "/dev/urandom");
        File.CreateSymbolicLink(Path.Combine(Dataset, "gone.png"), Path.Combine(Dataset, "deleted.png"));
        using (var img = new Image<Rgb24>(64, 64, new Rgb24(30, 200, 30))) img.SaveAsPng(Path.Combine(ProjectDir, "outside.png"));
        File.CreateSymbolicLink(Path.Combine(Dataset, "outside.png"), "../outside.png");
        File.CreateSymbolicLink(Path.Combine(Dataset, "passwd.png"), "/etc/passwd");
        Directory.CreateDirectory(Path.Combine(Dataset, "sub"));
        using (var img = new Image<Rgb24>(64, 64, new Rgb24(30, 30, 200))) img.SaveAsPng(Path.Combine(Dataset, "sub", "blue.png"));
        File.CreateSymbolicLink(Path.Combine(Dataset, "inside.png"), "sub/blue.png");   // stays inside: used
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(Dataset, "sock.png")));
        return socket;
    }

    static DatasetResult Process(string projectDir, DatasetSettings settings)
    {
        var processor = new DatasetProcessor(new MemoryCache(), new FileHashCache(null), 2);
        var task = Task.Run(() => processor.Run(projectDir, "p", settings, batchSize: 1));
        Assert.True(task.Wait(TimeSpan.FromSeconds(60)), "processing a dataset with special files hung");
        return task.Result;
    }

    sealed class MemoryCache : IProcessedImageCache
    {
        readonly System.Collections.Concurrent.ConcurrentDictionary<string, ProcessedImageMeta> _metas = new();
        public ProcessedImageMeta? TryGet(string key) => _metas.GetValueOrDefault(key);
        public void Put(string key, ProcessedImage image) => _metas[key] = image.Meta;
    }

    [SkippableFact]
    public void Pipes_devices_sockets_and_broken_or_outside_links_are_skipped_with_their_reason()
    {
        Skip.If(OperatingSystem.IsWindows(), "needs Unix special files (FIFOs, sockets, devices)");
        using var socket = MakeSpecialFiles();
        var result = Process(ProjectDir, new DatasetSettings());
        var byPath = result.Report.Images.ToDictionary(i => i.Path);

        Assert.Equal("used", byPath["good.png"].Status);
        Assert.Equal("used", byPath["inside.png"].Status);
        Assert.Contains("named pipe (FIFO), not a regular file", byPath["pipe.png"].Reason);
        Assert.Contains("named pipe (FIFO), not a regular file", byPath["good2.txt"].Reason);
        Assert.Contains("socket, not a regular file", byPath["sock.png"].Reason);
        Assert.Contains("symbolic link to a character device (/dev/zero)", byPath["zero.png"].Reason);
        Assert.Contains("symbolic link to a character device (/dev/urandom)", byPath["random.jpg"].Reason);
        Assert.Contains("broken symbolic link", byPath["gone.png"].Reason);
        Assert.Contains("outside the dataset folder; set dataset.follow_links: true", byPath["outside.png"].Reason);
        Assert.Contains("/etc/passwd, outside the dataset folder", byPath["passwd.png"].Reason);
        Assert.Equal(["good.png", "inside.png"], result.Index.Images.Select(i => i.Path));
    }

    [SkippableFact]
    public void Follow_links_uses_a_link_that_leaves_the_dataset_folder_but_never_a_device()
    {
        Skip.If(OperatingSystem.IsWindows(), "needs Unix special files (FIFOs, sockets, devices)");
        using var socket = MakeSpecialFiles();
        var result = Process(ProjectDir, new DatasetSettings { FollowLinks = true });
        var byPath = result.Report.Images.ToDictionary(i => i.Path);
        Assert.Equal("used", byPath["outside.png"].Status);
        Assert.Contains("symbolic link to a character device", byPath["zero.png"].Reason);
        Assert.Contains("not an image", byPath["passwd.png"].Reason);   // followed, read, and rejected by content
    }

    [Fact]
    public void Missing_empty_and_unusable_dataset_folders_each_have_their_own_message()
    {
        var settings = new DatasetSettings();
        var empty = Path.Combine(_root, "projects", "empty");
        Directory.CreateDirectory(Path.Combine(empty, "dataset"));
        var missing = Assert.Throws<UserError>(() => DatasetDiscovery.DiscoverTrainable(Path.Combine(_root, "projects", "none"), "none", settings));
        Assert.Contains("does not exist", missing.Message);
        var nothing = Assert.Throws<UserError>(() => DatasetDiscovery.DiscoverTrainable(empty, "empty", settings));
        Assert.Contains("is empty", nothing.Message);
        File.WriteAllText(Path.Combine(empty, "dataset", "notes.md"), "x");
        if (!OperatingSystem.IsWindows()) File.CreateSymbolicLink(Path.Combine(empty, "dataset", "gone.png"), "nowhere.png");
        var unusable = Assert.Throws<UserError>(() => DatasetDiscovery.DiscoverTrainable(empty, "empty", settings));
        Assert.Contains("has no usable image", unusable.Message);
        Assert.Contains("notes.md: not an image (.md)", unusable.Message);
        Assert.Equal(1, DatasetDiscovery.DiscoverTrainable(ProjectDir, "p", settings).Subsets.Sum(s => s.Images.Count));
    }
}
