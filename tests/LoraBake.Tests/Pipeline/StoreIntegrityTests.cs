using LoraBake.Cli;
using LoraBake.Download;
using LoraBake.Evaluation;
using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Pipeline;

/// <summary>
/// Every kind of store entry, damaged by a same-size byte flip and by truncation, is rebuilt to exactly the
/// bytes of the undamaged build — never used, never a crash. One real project (the tiny built-in model as a
/// local checkpoint, so the model is a store blob; three 512² images; one epoch of three steps; a two-cell
/// evaluation) is built once; each case damages one file, reruns the pipeline and compares the lock, output/
/// and the damaged file with the undamaged build.
/// </summary>
[Collection(LoraBake.Tests.Numerics.RouteCollection.Name)]
public class StoreIntegrityTests(StoreIntegrityTests.Build build) : IClassFixture<StoreIntegrityTests.Build>
{
    public const string Project = "integrity";
    static readonly string[] Stages = ["Download", "Process", "Train-Epoch-01", TrainExportStage.StageName, "Evaluate"];

    public sealed class Build : IDisposable
    {
        public readonly PipelineTempRepo Repo = new();
        public readonly StageRunner Runner;
        public readonly List<string> Log = [];
        public readonly Recipe Recipe;
        public readonly string LockText;
        public readonly Dictionary<string, string> Outputs;

        public Build()
        {
            var dir = Repo.AddProject(Project);
            var model = Path.Combine(Repo.Root, "models");
            TinySd1.Write(model);   // tiny-sd1.safetensors + its sidecar and tokenizer/ beside it: a local checkpoint
            for (var i = 0; i < 3; i++)
            {
                using var img = new Image<Rgb24>(512, 512);
                img.ProcessPixelRows(rows =>
                {
                    for (var y = 0; y < 512; y++)
                    {
                        var row = rows.GetRowSpan(y);
                        for (var x = 0; x < 512; x++) row[x] = new Rgb24((byte)(x / 2 + 70 * i), (byte)(y / 2 * (i + 1)), (byte)(40 * i));
                    }
                });
                img.SaveAsPng(Path.Combine(dir, "dataset", $"img{i}.png"));
                File.WriteAllText(Path.Combine(dir, "dataset", $"img{i}.txt"), $"intchan, pose{i}");
            }
            File.WriteAllText(Repo.Layout.RecipePath(Project), $"""
                model:
                  source: {Path.Combine(model, TinySd1.Name + ".safetensors")}
                dataset:
                  resolution: 512
                  num_repeats: 1
                  activation_tags: 1
                training:
                  how_many: 1
                  train_batch_size: 1
                  unet_lr: 1.0e-3
                  text_encoder_lr: 1.0e-4
                  lr_scheduler: constant
                  lr_warmup_ratio: 0
                  optimizer: AdamW
                  max_token_length: 75
                network:
                  network_dim: 2
                  network_alpha: 1
                evaluation:
                  prompts: ["[trigger], smile"]
                  seeds: [3]
                  sampler: euler
                  steps: 2
                  cfg: 5
                  width: 64
                  height: 64
                  weights: [1.0]
                """);
            Recipe = RecipeLoader.LoadOrThrow(Repo.Layout, Project);
            Runner = new StageRunner(Repo.Layout, PipelineStages.CreateCatalog());
            RunAll();
            LockText = File.ReadAllText(Repo.Layout.LockPath(Project));
            Outputs = OutputHashes();
        }

        public void RunAll(string? force = null)
        {
            foreach (var s in Stages) Runner.Run(Project, Recipe, s, force == s, Log.Add);
        }

        public Dictionary<string, string> OutputHashes() =>
            Directory.EnumerateFiles(Repo.Layout.OutputDir(Project), "*", SearchOption.AllDirectories)
                .Where(f => Path.GetFileName(f) != Materializer.StateFile)
                .ToDictionary(f => Path.GetRelativePath(Repo.Layout.OutputDir(Project), f), Hashing.Sha256File);

        public void Dispose() => Repo.Dispose();
    }

    ArtifactStore Store => build.Runner.Store;

    /// <summary>The one committed entry of a kind (the fixture builds exactly one of most).</summary>
    string Entry(string kind, string? containing = null) =>
        Directory.EnumerateDirectories(Path.Combine(Store.EntriesDir, kind))
            .First(d => containing == null || File.Exists(Path.Combine(d, containing)));

    /// <summary>The file a case damages, and the stage to force so that the entry is read again (null: the planner sees it).</summary>
    (string File, string? Force) Target(string kind)
    {
        string Stage(string name) => Entry(PlannedStage.StageKind(name));
        return kind switch
        {
            "download-blob" => (Store.BlobPath(Store.TryReadManifest(PlannedStage.StageKind("Download"), Path.GetFileName(Stage("Download")))!.Blobs.Keys.Single()), null),
            "download-json" => (Path.Combine(Stage("Download"), "model.json"), null),
            "process-index" => (Path.Combine(Stage("Process"), "index.json"), null),
            "per-image-meta" => (Path.Combine(Entry("process-image"), "meta.json"), "Process"),
            "per-image-png" => (Store.BlobPath(LoraBake.Data.ProcessedImageMeta.FromJson(
                File.ReadAllText(Path.Combine(Entry("process-image"), "meta.json")))!.PngSha256!), null),
            "latent" => (Path.Combine(Entry(LatentCache.Kind), "latent.safetensors"), "Train-Epoch-01"),
            "epoch-network" => (Path.Combine(Stage("Train-Epoch-01"), TrainingState.NetworkFile), null),
            "epoch-optimizer" => (Path.Combine(Stage("Train-Epoch-01"), TrainingState.OptimizerTensorsFile), null),
            "export" => (Path.Combine(Stage(TrainExportStage.StageName), "publish", Project + "-01.safetensors"), null),
            "cell" => (Path.Combine(Entry(CellStore.Kind), CellStore.ImageFile), "Evaluate"),
            "output" => (Path.Combine(build.Repo.Layout.OutputDir(Project), Project + "-01.safetensors"), null),
            _ => throw new ArgumentException(kind),
        };
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "download-blob", "download-json", "process-index", "per-image-meta", "per-image-png", "latent",
                     "epoch-network", "epoch-optimizer", "export", "cell", "output" })
            foreach (var damage in new[] { "flip", "truncate" })
                data.Add(kind, damage);
        return data;
    }

    [Theory, Trait("Category", "E2E")]
    [MemberData(nameof(Cases))]
    public void A_damaged_entry_is_rebuilt_to_the_undamaged_bytes(string kind, string damage)
    {
        var (file, force) = Target(kind);
        var good = File.ReadAllBytes(file);
        var stat = new FileInfo(file);
        var mtime = stat.LastWriteTimeUtc;
        if (damage == "flip")
        {
            var bytes = good.ToArray();
            bytes[bytes.Length / 2] ^= 0x20;
            File.WriteAllBytes(file, bytes);
            File.SetLastWriteTimeUtc(file, mtime);   // as a bit rot would: only the change time moves
        }
        else File.WriteAllBytes(file, good[..(good.Length / 2)]);

        build.Log.Clear();
        build.RunAll(force);

        Assert.Equal(good, File.ReadAllBytes(file));
        Assert.Equal(build.LockText, File.ReadAllText(build.Repo.Layout.LockPath(Project)));
        Assert.Equal(build.Outputs, build.OutputHashes());
        Assert.Contains(build.Log, l => l.Contains("damaged", StringComparison.Ordinal) || l.Contains("missing or changed", StringComparison.Ordinal));
    }

    [Fact, Trait("Category", "E2E")]
    public void Store_verify_names_every_damaged_entry_and_blob_and_passes_once_they_are_whole()
    {
        var clean = StoreCheck.Run(Store);
        Assert.True(clean.Ok, string.Join("\n", clean.Damaged));
        Assert.Equal(0, clean.FilesHashed);   // all verified before, unchanged since: one stat each
        Assert.True(clean.Entries >= 9 && clean.Blobs >= 4, $"{clean.Entries} entries, {clean.Blobs} blobs");

        var (latent, _) = Target("latent");
        var (png, _) = Target("per-image-png");
        var originals = new[] { latent, png }.ToDictionary(f => f, File.ReadAllBytes);
        foreach (var f in originals.Keys) { var b = originals[f].ToArray(); b[b.Length / 3] ^= 1; File.WriteAllBytes(f, b); }
        var damaged = StoreCheck.Run(Store);
        foreach (var (f, bytes) in originals) File.WriteAllBytes(f, bytes);

        var pngSha = Path.GetFileName(png);
        Assert.Contains(damaged.Damaged, d => d == $"objects/{pngSha[..2]}/{pngSha}: content does not hash to its name");
        Assert.Contains(damaged.Damaged, d => d.StartsWith("entries/latents/", StringComparison.Ordinal) && d.EndsWith(": latent.safetensors does not match its recorded SHA-256", StringComparison.Ordinal));
        Assert.Contains(damaged.Damaged, d => d.StartsWith("entries/process/", StringComparison.Ordinal));   // the Process entry references that PNG
        Assert.True(StoreCheck.Run(Store, rehash: true).Ok);
    }

    [Fact, Trait("Category", "E2E")]
    public void Store_gc_removes_only_what_no_lock_needs_and_the_build_stays_cached()
    {
        // Garbage: an epoch entry of a recipe no lock records, a latent of an image no Process uses, an unreferenced blob.
        var orphanKey = new string('e', 64);
        using (var w = Store.BeginEntry("train-epoch-01", orphanKey)) { File.WriteAllText(Path.Combine(w.Directory, "state.json"), "{}"); w.Commit(); }
        var staleLatent = LatentCache.Key("x+builtin-vae", new string('0', 64), flipped: false);
        using (var w = Store.BeginEntry(LatentCache.Kind, staleLatent)) { File.WriteAllBytes(Path.Combine(w.Directory, "latent.safetensors"), new byte[100]); w.Commit(); }
        var loose = Path.Combine(build.Repo.Root, "loose.bin");
        File.WriteAllBytes(loose, new byte[1234]);
        var blob = Store.PutFile(loose);
        Store.Verified.Save();
        Assert.Contains(orphanKey, File.ReadAllText(Path.Combine(Store.Root, "hash-cache", "verified.json")));

        var dry = StoreGarbageCollector.Collect(build.Repo.Layout, dryRun: true);
        Assert.Equal(new[] { $"entries/latents/{staleLatent}", $"entries/train-epoch-01/{orphanKey}", $"objects/{blob[..2]}/{blob}" }.Order(StringComparer.Ordinal),
            dry.Removed.Select(r => r.Path).Order(StringComparer.Ordinal));
        Assert.Equal(1234, dry.Removed.Single(r => r.Path.StartsWith("objects/", StringComparison.Ordinal)).Bytes);
        Assert.True(Store.EntryExists("train-epoch-01", orphanKey));   // a dry run removes nothing

        var done = StoreGarbageCollector.Collect(build.Repo.Layout, dryRun: false);
        Assert.Equal(dry.Removed, done.Removed);
        Assert.False(Store.EntryExists("train-epoch-01", orphanKey));
        Assert.False(Store.HasBlob(blob));
        var remembered = File.ReadAllText(Path.Combine(Store.Root, "hash-cache", "verified.json"));
        Assert.DoesNotContain(orphanKey, remembered);   // no record outlives what it describes
        Assert.DoesNotContain(blob, remembered);

        // What the locks need stayed, caches included: a forced epoch encodes no latent, a forced Evaluate renders no cell.
        build.Log.Clear();
        build.Runner.Run(Project, build.Recipe, "Train-Epoch-01", force: true, build.Log.Add);
        build.Runner.Run(Project, build.Recipe, "Evaluate", force: true, build.Log.Add);
        Assert.Contains(build.Log, l => l.Contains("(latents: 0 encoded", StringComparison.Ordinal));
        Assert.Contains(build.Log, l => l.Contains("0 to render", StringComparison.Ordinal));
        Assert.Equal(build.LockText, File.ReadAllText(build.Repo.Layout.LockPath(Project)));
        Assert.Empty(StoreGarbageCollector.Collect(build.Repo.Layout, dryRun: true).Removed);
    }
}
