using LoraBake.Download;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using LoraBake.Tests.Pipeline;

namespace LoraBake.Tests.Download;

public class HttpDownloaderTests
{
    private static byte[] Payload(int size, int seed = 1)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void Downloads_verifies_and_stores_by_content_then_reuses_without_a_request()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var data = Payload(300_000);
        server.Serve("m.bin", data);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var sha = Hashing.Sha256(data);
        var r = new HttpDownloader(store).Fetch(server.Url("m.bin"), sha.ToUpperInvariant(), "m.bin", "model.source", NoDownloadProgress.Instance);
        Assert.Equal((sha, 300_000L, true), (r.Sha256, r.Size, r.Downloaded));
        Assert.Equal(data, File.ReadAllBytes(store.BlobPath(sha)));
        Assert.Empty(Directory.EnumerateFiles(store.PartialDir));

        var again = new HttpDownloader(store).Fetch(server.Url("m.bin"), sha, "m.bin", "model.source", NoDownloadProgress.Instance);
        Assert.False(again.Downloaded);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public void Dropped_connection_is_resumed_with_a_range_request()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var data = Payload(1_000_000);
        server.Serve("m.bin", data);
        server.DropConnections(1, afterBytes: 400_000);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var r = new HttpDownloader(store).Fetch(server.Url("m.bin"), Hashing.Sha256(data), "m.bin", "model.source", NoDownloadProgress.Instance);
        Assert.Equal(Hashing.Sha256(data), r.Sha256);
        var ranges = server.RangeHeaders;
        Assert.Equal(2, ranges.Count);
        Assert.Null(ranges[0]);
        Assert.Matches(@"^bytes=\d+-$", ranges[1]);
        var resumedAt = long.Parse(ranges[1]![6..^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(resumedAt, 1, 400_000);
    }

    [Fact]
    public void Interrupted_download_resumes_in_the_next_run()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var data = Payload(800_000);
        server.Serve("m.bin", data);
        server.DropConnections(1, afterBytes: 500_000);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var e = Assert.Throws<UserError>(() => new HttpDownloader(store) { MaxAttempts = 1 }
            .Fetch(server.Url("m.bin"), null, "m.bin", "model.source", NoDownloadProgress.Instance));
        Assert.Contains("run again to resume", e.Message);
        Assert.Single(Directory.EnumerateFiles(store.PartialDir));
        Assert.Empty(Directory.Exists(store.ObjectsDir) ? Directory.EnumerateFiles(store.ObjectsDir, "*", SearchOption.AllDirectories) : []);

        var r = new HttpDownloader(store).Fetch(server.Url("m.bin"), null, "m.bin", "model.source", NoDownloadProgress.Instance);
        Assert.Equal(Hashing.Sha256(data), r.Sha256);
        Assert.NotNull(server.RangeHeaders[1]);
    }

    [Fact]
    public void Server_that_ignores_ranges_restarts_from_zero()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer { SupportRanges = false };
        var data = Payload(600_000);
        server.Serve("m.bin", data);
        server.DropConnections(1, afterBytes: 200_000);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var notes = new List<string>();
        var r = new HttpDownloader(store).Fetch(server.Url("m.bin"), Hashing.Sha256(data), "m.bin", "model.source", new NotesProgress(notes));
        Assert.Equal(Hashing.Sha256(data), r.Sha256);
        Assert.Contains(notes, n => n.Contains("does not support resuming"));
    }

    [Fact]
    public void Wrong_bytes_are_refused_and_nothing_is_kept()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var data = Payload(100_000);
        server.Serve("m.bin", data);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var expected = Hashing.Sha256Text("the real model");
        var e = Assert.Throws<UserError>(() => new HttpDownloader(store)
            .Fetch(server.Url("m.bin"), expected, "m.bin", "model.sha256 in projects/p/project.yaml", NoDownloadProgress.Instance));
        Assert.Contains(expected, e.Message);
        Assert.Contains(Hashing.Sha256(data), e.Message);
        Assert.Contains("model.sha256 in projects/p/project.yaml", e.Message);
        Assert.False(store.HasBlob(Hashing.Sha256(data)));
        Assert.False(store.HasBlob(expected));
        Assert.Empty(Directory.EnumerateFiles(store.PartialDir));
    }

    [Fact]
    public void Missing_file_is_a_user_error_without_retries()
    {
        using var repo = new PipelineTempRepo();
        using var server = new LoopbackHttpServer();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var e = Assert.Throws<UserError>(() => new HttpDownloader(store).Fetch(server.Url("nope"), null, "nope", "model.source", NoDownloadProgress.Instance));
        Assert.Contains("404", e.Message);
        Assert.Equal(1, server.Requests);
    }

    private sealed class NotesProgress(List<string> notes) : IDownloadProgress
    {
        public void Start(string name, long? totalBytes, long alreadyHave) { }
        public void Advance(long bytes) { }
        public void Note(string message) => notes.Add(message);
        public void Done() { }
    }
}

public class ModelFileTypeTests
{
    [Fact]
    public void Detects_types_by_content()
    {
        var header = "{\"__metadata__\":{}}"u8.ToArray();
        var st = BitConverter.GetBytes((ulong)header.Length).Concat(header).ToArray();
        Assert.Equal(ModelFileType.Safetensors, ModelFileTypes.Detect(st, st.Length));
        Assert.Equal(ModelFileType.Unknown, ModelFileTypes.Detect(st, 12));   // header longer than the file
        Assert.Equal(ModelFileType.CkptZip, ModelFileTypes.Detect("PK\x03\x04rest"u8, 100));
        Assert.Equal(ModelFileType.CkptPickle, ModelFileTypes.Detect([0x80, 0x02, 0x7d], 100));
        Assert.Equal(ModelFileType.Unknown, ModelFileTypes.Detect("<!DOCTYPE html>"u8, 100));
    }
}
