using System.Text.Json;
using LoraBake.Data;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.Tests.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Data;

public class ProcessStageTests
{
    private static Recipe MakeRecipe(int batch = 3, int resolution = 512, bool strict = false) => new()
    {
        Name = "proj",
        Dataset = new DatasetSettings { Resolution = resolution, NumRepeats = 2, Strict = strict },
        Training = new TrainingSettings { TrainBatchSize = batch },
    };

    private sealed class Fixture : IDisposable
    {
        public readonly PipelineTempRepo Repo = new();
        public readonly ProcessStage Stage = new(maxDegreeOfParallelism: 2);
        public readonly StageRunner Runner;
        public readonly string Dataset;

        public Fixture()
        {
            var dir = Repo.AddProject("proj");
            Dataset = Path.Combine(dir, "dataset");
            DataTestDataset.Create(Dataset);
            Runner = new StageRunner(Repo.Layout, new StageCatalog().Register(StageCatalog.Process, _ => [Stage]));
        }

        public StageRunOutcome Run(Recipe recipe) => Runner.Run("proj", recipe, StageCatalog.Process, force: false);
        public void Dispose() => Repo.Dispose();
    }

    [Fact]
    public void Every_case_gets_its_outcome_and_the_report_is_complete()
    {
        using var f = new Fixture();
        var outcome = f.Run(MakeRecipe());
        Assert.True(outcome.Ran);
        Assert.Equal(21, f.Stage.LastCounters!.Processed); // 22 files with image extensions, dup_b not processed twice
        var json = File.ReadAllText(Path.Combine(f.Repo.Layout.OutputDir("proj"), "dataset.json"));
        using var doc = JsonDocument.Parse(json);
        var images = doc.RootElement.GetProperty("images").EnumerateArray().ToList();
        var paths = images.Select(i => i.GetProperty("path").GetString()!).ToList();
        Assert.Equal(paths.Order(StringComparer.Ordinal), paths);
        Assert.Equal(DataTestDataset.Expected.Keys.Order(StringComparer.Ordinal), paths);
        foreach (var img in images)
        {
            var (status, reason) = DataTestDataset.Expected[img.GetProperty("path").GetString()!];
            Assert.Equal(status, img.GetProperty("status").GetString());
            if (reason != null) Assert.Contains(reason, img.GetProperty("reason").GetString());
        }
        JsonElement Img(string p) => images.Single(i => i.GetProperty("path").GetString() == p);
        // EXIF orientation 6: stored 96×64, reported upright 64×96 → nearest AR 0.6 → 384×640.
        Assert.Equal(64, Img("rotated.jpg").GetProperty("width").GetInt32());
        Assert.Equal(96, Img("rotated.jpg").GetProperty("height").GetInt32());
        Assert.Equal([384, 640], Img("rotated.jpg").GetProperty("bucket").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([640, 384], Img("huge.png").GetProperty("bucket").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(["bakechan", "red hair", "smile"], Img("messy.png").GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["proj"], Img("nocaption.png").GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["bakechan style"], Img("5_bakechan style/b.png").GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(5, Img("5_bakechan style/a.png").GetProperty("repeats").GetInt32());
        Assert.Equal(2, Img("plain/c.png").GetProperty("repeats").GetInt32());
        Assert.Equal(["bakechan", "café"], Img("café_ñ_猫.png").GetProperty("tags").EnumerateArray().Select(e => e.GetString()));

        var root = doc.RootElement;
        Assert.Equal(["ghost.txt"], root.GetProperty("orphan_captions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([["dup_a.png", "dup_b.png"]], root.GetProperty("duplicates").EnumerateArray().Select(g => g.EnumerateArray().Select(e => e.GetString()).ToArray()));
        // Buckets: 512² ← 10 root squares ×2 + a,b ×5 + c ×2 = 32 samples; 640×384 ← cmyk (24×16), huge ×2 = 4; 384×640 ← rotated ×2 = 2.
        // Batch 3: ceil(32/3) + ceil(4/3) + ceil(2/3) = 11 + 2 + 1 = 14; the colab's estimate is 38/3 = 12.67.
        var buckets = root.GetProperty("buckets");
        Assert.Equal(13, buckets.GetProperty("512x512").GetInt32());
        Assert.Equal(2, buckets.GetProperty("640x384").GetInt32());
        Assert.Equal(1, buckets.GetProperty("384x640").GetInt32());
        var steps = root.GetProperty("steps_per_epoch");
        Assert.Equal(14, steps.GetProperty("real").GetInt32());
        Assert.Equal(38.0 / 3, steps.GetProperty("colab_estimate").GetDouble(), 6);
        // ss_tag_frequency shape: {subset folder: {lower-cased tag: count}}; dup_b is not used, so "blue" counts once.
        var freq = root.GetProperty("tag_frequency");
        Assert.Equal(1, freq.GetProperty("dataset").GetProperty("blue").GetInt32());
        Assert.Equal(1, freq.GetProperty("5_bakechan style").GetProperty("bakechan style").GetInt32());

        // The index training reads: PNG blobs of bucket size, RGB, alpha flattened onto white.
        var entry = f.Repo.Layout.StoreDir;
        var store = new ArtifactStore(entry);
        var index = ProcessedIndex.Read(Path.Combine(store.EntryPath("process", outcome.Fingerprint), ProcessedIndex.FileName));
        Assert.Equal(16, index.Images.Count);
        var rgba = index.Images.Single(i => i.Path == "rgba.png");
        using var png = Image.Load<Rgb24>(store.BlobPath(rgba.PngSha256));
        Assert.Equal((512, 512), (png.Width, png.Height));
        Assert.Equal(new Rgb24(255, 255, 255), png[10, 256]);
        Assert.Equal(new Rgb24(220, 30, 30), png[500, 256]);
        Assert.Equal(5, index.Images.Single(i => i.Path == "5_bakechan style/a.png").Repeats);
    }

    [Fact]
    public void Reruns_use_the_caches_and_redo_only_what_changed()
    {
        using var f = new Fixture();
        f.Run(MakeRecipe());
        Assert.Equal(21, f.Stage.LastCounters!.Processed);

        // Nothing changed: the stage is up to date and does not run.
        Assert.False(f.Run(MakeRecipe()).Ran);

        // A setting that does not touch pixels: the stage runs, every image comes from the cache, no file is re-read.
        Assert.True(f.Run(MakeRecipe(batch: 2)).Ran);
        Assert.Equal(new ProcessCounters(0, 21, 0), f.Stage.LastCounters);

        // Edit one image: only it is processed again.
        var messy = Path.Combine(f.Dataset, "messy.png");
        using (var changed = DataTestFiles.Halves(64, 64, new Rgba32(1, 2, 3, 255), DataTestDataset.Blue)) File.WriteAllBytes(messy, DataTestFiles.Png(changed));
        File.SetLastWriteTimeUtc(messy, DateTime.UtcNow.AddMinutes(1));
        var edited = f.Run(MakeRecipe(batch: 2));
        Assert.True(edited.Ran);
        Assert.Equal(1, f.Stage.LastCounters!.Processed);
        Assert.Equal(20, f.Stage.LastCounters.CacheHits);

        // Another resolution: every image again.
        f.Run(MakeRecipe(batch: 2, resolution: 768));
        Assert.Equal(21, f.Stage.LastCounters!.Processed);
    }

    [Fact]
    public void Strict_turns_every_skipped_file_into_one_error()
    {
        using var f = new Fixture();
        var e = Assert.Throws<UserError>(() => f.Run(MakeRecipe(strict: true)));
        foreach (var name in new[] { "truncated.png", "truncated.jpg", "empty.jpg", "fake.png", "bomb.png", ".DS_Store", "notes.md", "ghost.txt" })
            Assert.Contains(name, e.Message);
        Assert.DoesNotContain("dup_b.png", e.Message);
        Assert.Contains("strict", e.Message);
    }

    [Fact]
    public void Fingerprint_names_the_changed_file_and_ignores_mtime()
    {
        using var f = new Fixture();
        var store = new ArtifactStore(f.Repo.Layout.StoreDir);
        var ctx = new StageContext { Layout = f.Repo.Layout, Recipe = MakeRecipe(), Project = "proj", Store = store };
        var before = f.Stage.ComputeFingerprint(ctx);
        var tiny = Path.Combine(f.Dataset, "tiny.png");
        File.SetLastWriteTimeUtc(tiny, DateTime.UtcNow.AddHours(1));
        Assert.Equal(before.Hash, f.Stage.ComputeFingerprint(ctx).Hash);
        File.AppendAllText(Path.Combine(f.Dataset, "messy.txt"), "more");
        File.WriteAllText(Path.Combine(f.Dataset, "messy.txt"), "bakechan, changed");
        var after = f.Stage.ComputeFingerprint(ctx);
        Assert.NotEqual(before.Hash, after.Hash);
        Assert.Contains(after.Diff(before.Components), d => d.Contains("messy.txt"));
    }
}
