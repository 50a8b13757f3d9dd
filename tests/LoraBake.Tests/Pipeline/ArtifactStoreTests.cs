using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

public class ArtifactStoreTests
{
    [Fact]
    public void Committed_entry_opens_with_its_files_and_hashes()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var key = new string('a', 64);
        IReadOnlyDictionary<string, string> files;
        using (var w = store.BeginEntry("process", key))
        {
            File.WriteAllText(Path.Combine(w.Directory, "a.txt"), "hello");
            Directory.CreateDirectory(Path.Combine(w.Directory, "publish"));
            File.WriteAllText(Path.Combine(w.Directory, "publish", "b.txt"), "world");
            Assert.Null(store.TryOpenEntry("process", key));   // not visible before Commit
            files = w.Commit();
        }
        Assert.Equal(Hashing.Sha256Text("hello"), files["a.txt"]);
        Assert.Equal(Hashing.Sha256Text("world"), files["publish/b.txt"]);
        var dir = store.TryOpenEntry("process", key, rehash: true);
        Assert.NotNull(dir);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(dir!, "a.txt")));
    }

    /// <summary>
    /// Two builds with the same inputs (two projects on one base model, two CI jobs on one store) commit the same entry
    /// at once: each must find an intact entry right after its commit. Replacing the first one used to leave a moment
    /// with no entry, and the other build failed with "did not verify right after it was committed".
    /// </summary>
    [Fact]
    public void Concurrent_commits_of_one_key_each_find_an_intact_entry()
    {
        using var repo = new PipelineTempRepo();
        for (int round = 0; round < 20; round++)
        {
            var key = $"k{round}";
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                var store = new ArtifactStore(repo.Layout.StoreDir);   // its own instance, as another process has
                for (int i = 0; i < 10; i++)
                {
                    try
                    {
                        using (var w = store.BeginEntry("download", key))
                        {
                            File.WriteAllText(Path.Combine(w.Directory, "model.bin"), "same inputs, same bytes");
                            w.Commit();
                        }
                        if (store.TryReadManifest("download", key) == null) failures.Add($"thread {t}, commit {i}: no entry");
                    }
                    catch (IOException e) { failures.Add($"thread {t}, commit {i}: {e.Message}"); }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Empty(failures);
        }
    }

    [Fact]
    public void A_forced_commit_replaces_an_intact_entry_and_a_plain_one_keeps_it()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        void Commit(string text, bool replace)
        {
            using var w = store.BeginEntry("train", "k", replaceExisting: replace);
            File.WriteAllText(Path.Combine(w.Directory, "loss.txt"), text);
            w.Commit();
        }
        Commit("first", replace: false);
        Commit("second", replace: false);
        Assert.Equal("first", File.ReadAllText(Path.Combine(store.TryOpenEntry("train", "k")!, "loss.txt")));
        Commit("forced", replace: true);
        Assert.Equal("forced", File.ReadAllText(Path.Combine(store.TryOpenEntry("train", "k")!, "loss.txt")));
    }

    [Fact]
    public void Disposed_writer_without_commit_leaves_nothing()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        string temp;
        using (var w = store.BeginEntry("process", "k1"))
        {
            temp = w.Directory;
            File.WriteAllText(Path.Combine(w.Directory, "half.bin"), "partial");
        }
        Assert.False(Directory.Exists(temp));
        Assert.False(store.EntryExists("process", "k1"));
        Assert.Null(store.TryOpenEntry("process", "k1"));
    }

    [Fact]
    public void Writer_failing_mid_stage_leaves_nothing_that_looks_finished()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        Assert.Throws<InvalidOperationException>((Action)(() =>
        {
            using var w = store.BeginEntry("train-epoch-01", "k2");
            File.WriteAllText(Path.Combine(w.Directory, "state.bin"), "x");
            throw new InvalidOperationException("killed");
        }));
        Assert.False(store.EntryExists("train-epoch-01", "k2"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(store.TempDir));
    }

    [Fact]
    public void Temp_folder_of_a_dead_process_is_swept_and_never_read_as_an_entry()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        // pid 2^22+1 is above Linux's pid_max default range; a crashed writer's folder looks like this.
        var abandoned = Path.Combine(store.TempDir, "4194305-0123456789abcdef");
        Directory.CreateDirectory(abandoned);
        File.WriteAllText(Path.Combine(abandoned, "manifest.json"), "{}");
        var mine = store.NewTempPath();
        Directory.CreateDirectory(mine);
        store.SweepTemp();
        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(mine));
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("delete")]
    [InlineData("manifest")]
    [InlineData("same-size")]
    public void Damaged_entry_is_stale_not_an_error(string damage)
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        using (var w = store.BeginEntry("process", "k3"))
        {
            File.WriteAllText(Path.Combine(w.Directory, "data.bin"), "0123456789");
            w.Commit();
        }
        var dir = store.EntryPath("process", "k3");
        var file = Path.Combine(dir, "data.bin");
        switch (damage)
        {
            case "truncate": File.WriteAllText(file, "01234"); break;
            case "delete": File.Delete(file); break;
            case "manifest": File.WriteAllText(Path.Combine(dir, "manifest.json"), File.ReadAllText(Path.Combine(dir, "manifest.json"))[..20]); break;
            case "same-size": File.WriteAllText(file, "9876543210"); break;
        }
        // Same-size damage too: every read checks the content hash (re-read because the file's stat changed).
        Assert.Null(store.TryOpenEntry("process", "k3"));
    }

    [Fact]
    public void Blobs_are_content_addressed_and_entries_check_the_blobs_they_reference()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var src = Path.Combine(repo.Root, "model.bin");
        File.WriteAllBytes(src, [1, 2, 3, 4]);
        var sha = store.PutFile(src);
        Assert.Equal(Hashing.Sha256([1, 2, 3, 4]), sha);
        Assert.True(store.HasBlob(sha));
        Assert.Equal(Path.Combine(store.ObjectsDir, sha[..2], sha), store.BlobPath(sha));
        Assert.Equal(sha, store.PutFile(src, move: true));
        Assert.False(File.Exists(src));

        using (var w = store.BeginEntry("download", "k4"))
        {
            w.ReferenceBlob(sha);
            File.WriteAllText(Path.Combine(w.Directory, "model.json"), "{}");
            w.Commit();
        }
        Assert.NotNull(store.TryOpenEntry("download", "k4"));
        store.DeleteBlob(sha);
        Assert.Null(store.TryOpenEntry("download", "k4"));
    }

    [Fact]
    public void Commit_replaces_a_damaged_entry_with_the_same_key()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        Directory.CreateDirectory(store.EntryPath("process", "k5"));
        File.WriteAllText(Path.Combine(store.EntryPath("process", "k5"), "junk"), "junk");
        using (var w = store.BeginEntry("process", "k5"))
        {
            File.WriteAllText(Path.Combine(w.Directory, "good"), "good");
            w.Commit();
        }
        var dir = store.TryOpenEntry("process", "k5");
        Assert.NotNull(dir);
        Assert.False(File.Exists(Path.Combine(dir!, "junk")));
    }

    [Fact]
    public void A_rerun_trusts_verified_hashes_by_stat_and_rehashes_a_file_whose_stat_moved()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        using (var w = store.BeginEntry("train-epoch-01", "k6"))
        {
            File.WriteAllBytes(Path.Combine(w.Directory, "network.bin"), new byte[100_000]);
            w.Commit();
        }
        Assert.NotNull(store.TryOpenEntry("train-epoch-01", "k6"));
        Assert.Equal(0, store.Verified.FilesHashed);    // the commit's own hashes were remembered
        store.Verified.Save();

        var rerun = new ArtifactStore(repo.Layout.StoreDir);   // a new process: the cache comes from disk
        Assert.NotNull(rerun.TryOpenEntry("train-epoch-01", "k6"));
        Assert.Equal(0, rerun.Verified.FilesHashed);

        // A flipped byte with the modification time put back (as bit rot or a careless tool would): ctime still moves.
        var file = Path.Combine(store.EntryPath("train-epoch-01", "k6"), "network.bin");
        var mtime = File.GetLastWriteTimeUtc(file);
        using (var f = new FileStream(file, FileMode.Open, FileAccess.Write)) { f.Position = 50_000; f.WriteByte(1); }
        File.SetLastWriteTimeUtc(file, mtime);
        var notices = new List<string>();
        rerun.Notice = notices.Add;
        Assert.Null(rerun.TryOpenEntry("train-epoch-01", "k6"));
        Assert.Equal(1, rerun.Verified.FilesHashed);
        Assert.Equal(["store: train-epoch-01/k6 is damaged (network.bin does not match its recorded SHA-256); rebuilding it"], notices);
    }

    [Fact]
    public void A_damaged_blob_is_replaced_when_its_content_is_put_again()
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var src = Path.Combine(repo.Root, "image.png");
        File.WriteAllBytes(src, [1, 2, 3, 4, 5, 6]);
        var sha = store.PutFile(src);
        File.WriteAllBytes(store.BlobPath(sha), [1, 2, 3, 4, 5, 7]);   // same size, one byte off
        Assert.False(store.HasIntactBlob(sha));
        Assert.Equal(sha, store.PutFile(src));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, File.ReadAllBytes(store.BlobPath(sha)));
        Assert.True(store.HasIntactBlob(sha));
    }

    [Theory]
    [InlineData("{\"not\": ")]
    [InlineData("{\"objects/00/x\":{\"Size\":1}}")]
    public void A_damaged_verified_hash_cache_only_means_hashing_again(string damaged)
    {
        using var repo = new PipelineTempRepo();
        var store = new ArtifactStore(repo.Layout.StoreDir);
        using (var w = store.BeginEntry("process", "k7"))
        {
            File.WriteAllText(Path.Combine(w.Directory, "index.json"), "{}");
            w.Commit();
        }
        store.Verified.Save();
        File.WriteAllText(Path.Combine(store.Root, "hash-cache", "verified.json"), damaged);
        var rerun = new ArtifactStore(repo.Layout.StoreDir);
        Assert.NotNull(rerun.TryOpenEntry("process", "k7"));
        Assert.Equal(1, rerun.Verified.FilesHashed);
    }
}
