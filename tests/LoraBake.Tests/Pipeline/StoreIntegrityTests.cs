using LoraBake.Evaluation;
using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Pipeline.Download;
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

    [Theory, Trait("Category", "Slow")]
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
}
