using System.Diagnostics;
using System.Text.Json;
using LoraBake.Download;
using LoraBake.Evaluation;
using LoraBake.Models;
using LoraBake.Networks;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Sampling;
using LoraBake.Tests.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LoraBake.Tests.Evaluation;

/// <summary>
/// The real Evaluate stage on a throw-away project: the built-in tiny SD1 model, a
/// processed two-image dataset, and a Train-Export entry holding two kohya LoRA files with random weights
/// (made with <see cref="LoraNetwork"/>, so the renderer loads real adapters), 64×64 cells, 2 steps, 1 seed.
/// </summary>
public class EvaluateStageTests(ITestOutputHelper output)
{
    const string Project = "ev";

    /// <summary>Train-Export as the Evaluate stage reads it: publish/ev-01.safetensors, ev-02.safetensors and loss.csv.</summary>
    sealed class RandomLoraExport : IStage
    {
        public string Name => LoraBake.Training.TrainExportStage.StageName;
        public int SchemaVersion => 1;
        public IReadOnlyList<string> DependsOn { get; } = [StageCatalog.Download];
        public Fingerprint ComputeFingerprint(StageContext context) => new FingerprintBuilder("Random-Lora-Export", SchemaVersion).Build();

        public void Run(StageContext context, EntryWriter output)
        {
            var downloadDir = context.UpstreamDirectory(StageCatalog.Download);
            var checkpoint = ModelFiles.Checkpoint(DownloadedModel.Load(downloadDir)!, downloadDir, context.Store);
            using var sd = Sd1Model.Load(checkpoint);
            var publish = Path.Combine(output.Directory, Materializer.PublishDir);
            Directory.CreateDirectory(publish);
            for (var epoch = 1; epoch <= 2; epoch++)
            {
                using var network = LoraNetwork.Create(sd.Unet, sd.TextEncoder, LoraBake.Networks.NetworkType.LoRA, dim: 4, alpha: 4);
                using (no_grad())
                {
                    using var g = new TorchSharp.torch.Generator((ulong)(100 + epoch));
                    foreach (var p in network.parameters()) p.normal_(0, 0.1, generator: g);
                }
                var weights = network.StateDict(ScalarType.Float32);
                KohyaMetadata.Save(Path.Combine(publish, $"{Project}-{epoch:00}.safetensors"), weights, new Dictionary<string, string> { ["ss_network_dim"] = "4" });
                foreach (var w in weights.Values) w.Dispose();
                network.Remove();
            }
            LossLog.Write(Path.Combine(publish, "loss.csv"),
                Enumerable.Range(1, 4).Select(s => new LossRow(s, (s + 1) / 2, 0.2 - 0.01 * s, 1e-3, 2e-4, [500 + s])));
        }
    }

    sealed class Fixture : IDisposable
    {
        public readonly PipelineTempRepo Repo = new();
        public readonly EvaluateStage Evaluate = new();
        public readonly StageRunner Runner;
        public readonly List<string> Log = [];

        public Fixture()
        {
            BuiltinModels.Register(TinySd1.Name, TinySd1.Write, TinySd1.Version);
            var dir = Repo.AddProject(Project);
            var dataset = Path.Combine(dir, "dataset");
            for (var i = 0; i < 2; i++)
            {
                using var img = new Image<Rgb24>(64, 64, new Rgb24((byte)(200 - 80 * i), 40, (byte)(60 + 120 * i)));
                img.SaveAsPng(Path.Combine(dataset, $"img{i}.png"));
                File.WriteAllText(Path.Combine(dataset, $"img{i}.txt"), $"evchan, red hair, pose{i}");
            }
            Runner = new StageRunner(Repo.Layout, new StageCatalog()
                .Register(StageCatalog.Download, _ => [new DownloadStage()])
                .Register(StageCatalog.Process, _ => [new LoraBake.Data.ProcessStage(maxDegreeOfParallelism: 1)])
                .Register(StageCatalog.Train, _ => [new RandomLoraExport()])
                .Register(StageCatalog.Evaluate, _ => [Evaluate]));
        }

        public Recipe Recipe(string weights, string prompt = "[trigger], red hair", string mixedPrecision = "auto")
        {
            File.WriteAllText(Repo.Layout.RecipePath(Project), $"""
                model:
                  source: builtin:tiny-sd1
                dataset:
                  resolution: 512
                  activation_tags: 1
                training:
                  how_many: 2
                  train_batch_size: 1
                  clip_skip: 1
                  mixed_precision: {mixedPrecision}
                evaluation:
                  prompts: ["{prompt}"]
                  negative_prompt: "lowres"
                  seeds: [7]
                  sampler: euler_a
                  steps: 2
                  cfg: 5
                  width: 64
                  height: 64
                  weights: {weights}
                """);
            return RecipeLoader.LoadOrThrow(Repo.Layout, Project);
        }

        public StageRunOutcome Run(Recipe recipe, string stage, bool force = false) => Runner.Run(Project, recipe, stage, force, Log.Add);
        public string Output(string rel) => Path.Combine(Repo.Layout.OutputDir(Project), rel);
        public void Dispose() => Repo.Dispose();
    }

    [Fact]
    public void A_lora_tag_in_a_prompt_is_found_in_the_project_folder_and_its_content_keys_the_cells()
    {
        using var f = new Fixture();
        var recipe = f.Recipe("[1.0]");
        foreach (var s in new[] { StageCatalog.Download, StageCatalog.Process, LoraBake.Training.TrainExportStage.StageName })
            f.Run(recipe, s);
        var style = Path.Combine(f.Repo.Layout.ProjectDir(Project), "style.safetensors");
        File.Copy(f.Output("ev-01.safetensors"), style);
        recipe = f.Recipe("[1.0]", "[trigger], red hair <lora:style:0.8>");
        // The working directory is not the project folder: the tag is still found.
        Assert.True(f.Run(recipe, StageCatalog.Evaluate).Ran);
        Assert.Equal(new EvaluationCounts(3, 0), f.Evaluate.LastRun);
        Assert.False(f.Run(recipe, StageCatalog.Evaluate).Ran);
        // Same name, other weights: the stage is stale and every cell renders again (none is a stale cache hit).
        File.Copy(f.Output("ev-02.safetensors"), style, overwrite: true);
        Assert.True(f.Run(recipe, StageCatalog.Evaluate).Ran);
        Assert.Equal(new EvaluationCounts(3, 0), f.Evaluate.LastRun);
        // A tag naming no file is refused when the recipe loads, at its line.
        File.Delete(style);
        var e = Assert.Throws<LoraBake.Runtime.UserError>(() => f.Recipe("[1.0]", "[trigger] <lora:style:0.8>"));
        Assert.Contains("projects/ev/project.yaml:", e.Message);
        Assert.Contains("evaluation.prompts: <lora:style:…> names 'style.safetensors', which is in none of the LoRA folders", e.Message);
    }

    /// <summary>
    /// The grid renders in the precision training holds the base model in: bf16 where the numerics guard found it right
    /// (the UNet steps are a cell's cost, and bf16 runs them several times faster on CPUs with bf16 instructions), with
    /// its own cell keys, an image close to the fp32 one, and `--precision bf16` in the reproduce commands. Where bf16
    /// math is wrong the model is held in bf16 and computed in fp32 (FrozenPrecision): still its own keys and image.
    /// </summary>
    [Fact]
    public void The_grid_renders_in_the_training_precision_with_its_own_keys()
    {
        using var f = new Fixture();
        var fp32 = f.Recipe("[1.0]", mixedPrecision: "fp32");
        foreach (var s in new[] { StageCatalog.Download, StageCatalog.Process, LoraBake.Training.TrainExportStage.StageName, StageCatalog.Evaluate })
            f.Run(fp32, s);
        static (List<string> Keys, string Html) Read(Fixture f) => (
            JsonDocument.Parse(File.ReadAllText(f.Output(EvaluateStage.JsonFile))).RootElement.GetProperty("cells").EnumerateArray()
                .SelectMany(c => c.GetProperty("renders").EnumerateArray()).Select(r => r.GetProperty("key").GetString()!).ToList(),
            File.ReadAllText(f.Output(EvaluateStage.ReportFile)));
        var (keys32, html32) = Read(f);
        Assert.DoesNotContain("--precision", html32);
        using var image32 = Image.Load<Rgb24>(Path.Combine(f.Repo.Layout.StoreDir, "entries", CellStore.Kind, keys32[0], CellStore.ImageFile));

        var bf16 = f.Recipe("[1.0]", mixedPrecision: "bf16");
        Assert.True(f.Run(bf16, StageCatalog.Evaluate).Ran);
        Assert.Equal(new EvaluationCounts(3, 0), f.Evaluate.LastRun);   // nothing reused from the fp32 renders
        var (keys16, html16) = Read(f);
        Assert.Empty(keys16.Intersect(keys32));
        Assert.Contains("--precision bf16", html16);
        Assert.Contains(f.Log, l => l.Contains("renders in bf16", StringComparison.Ordinal));
        using var image16 = Image.Load<Rgb24>(Path.Combine(f.Repo.Layout.StoreDir, "entries", CellStore.Kind, keys16[0], CellStore.ImageFile));
        double diff = LoraBake.Tests.Sampling.GenerateTinyModel.MeanAbsDiff(image32, image16);
        output.WriteLine($"baseline cell, fp32 against bf16: mean |diff| {diff:0.00} of 255");
        Assert.True(diff < 12, $"the bf16 render is far from the fp32 one: mean |diff| {diff:0.00} of 255");
        Assert.True(diff > 0, "the bf16 render equals the fp32 one byte for byte: the model did not render in bf16");
    }

    [Fact]
    public void Renders_each_cell_once_then_only_new_or_damaged_cells()
    {
        using var f = new Fixture();
        var recipe = f.Recipe("[0.5, 1.0]");
        var watch = Stopwatch.StartNew();
        foreach (var s in new[] { StageCatalog.Download, StageCatalog.Process, LoraBake.Training.TrainExportStage.StageName })
            Assert.True(f.Run(recipe, s).Ran);
        output.WriteLine($"Download, Process, export: {watch.Elapsed.TotalSeconds:0.0}s");

        watch.Restart();
        Assert.True(f.Run(recipe, StageCatalog.Evaluate).Ran);
        output.WriteLine($"first Evaluate: {watch.Elapsed.TotalSeconds:0.0}s");
        // Baseline once + 2 epochs × 2 weights, one seed each.
        Assert.Equal(new EvaluationCounts(5, 0), f.Evaluate.LastRun);
        foreach (var file in new[] { EvaluateStage.GridFile, EvaluateStage.ReportFile, EvaluateStage.LossImageFile, EvaluateStage.JsonFile })
            Assert.True(new FileInfo(f.Output(file)).Length > 0, file);

        // Grid: 3 columns (baseline, epoch 1, epoch 2) × 2 rows of 64×64, plus label margins.
        using (var grid = Image.Load<Rgb24>(f.Output(EvaluateStage.GridFile)))
        {
            Assert.True(grid.Width >= 3 * 64 && grid.Height >= 2 * 64, $"{grid.Width}×{grid.Height}");
        }
        using (var doc = JsonDocument.Parse(File.ReadAllText(f.Output(EvaluateStage.JsonFile))))
        {
            var root = doc.RootElement;
            Assert.Equal("evchan", root.GetProperty("trigger").GetString());
            var cells = root.GetProperty("cells").EnumerateArray().ToList();
            Assert.Equal(6, cells.Count);
            Assert.All(cells, c => Assert.Equal("evchan, red hair", c.GetProperty("prompt").GetString()));
            var keys = cells.SelectMany(c => c.GetProperty("renders").EnumerateArray()).Select(r => r.GetProperty("key").GetString()!).Distinct().ToList();
            Assert.Equal(5, keys.Count);
            // Each key is a cell entry whose PNG carries webui infotext with the prompt.
            var png = Path.Combine(f.Repo.Layout.StoreDir, "entries", CellStore.Kind, keys[0], CellStore.ImageFile);
            Assert.Contains("evchan, red hair", PngFile.ReadParameters(png));
            Assert.Equal(JsonValueKind.Object, root.GetProperty("diagnosis").ValueKind);
        }
        // LoRA cells differ from the baseline: the adapters were applied.
        var effects = JsonDocument.Parse(File.ReadAllText(f.Output(EvaluateStage.JsonFile))).RootElement.GetProperty("cells").EnumerateArray()
            .Where(c => c.GetProperty("epoch").ValueKind != JsonValueKind.Null).Select(c => c.GetProperty("effect").GetDouble()).ToList();
        foreach (var l in f.Log) output.WriteLine(l);
        // Random adapters on a random model change little, but every LoRA cell must differ from the baseline.
        Assert.All(effects, e => Assert.True(e > 1e-3, $"a LoRA cell equals the baseline (effect {e})"));
        var html = File.ReadAllText(f.Output(EvaluateStage.ReportFile));
        Assert.Contains("src=\"grids/grid.png\"", html);
        Assert.Contains("lorabake generate", html);

        // Same settings, forced: every cell comes from the cache.
        Assert.True(f.Run(recipe, StageCatalog.Evaluate, force: true).Ran);
        Assert.Equal(new EvaluationCounts(0, 5), f.Evaluate.LastRun);
        Assert.Contains(f.Log, l => l.Contains("rendered 0, cached 5", StringComparison.Ordinal));

        // Unchanged and not forced: the stage is up to date and does not run.
        Assert.False(f.Run(recipe, StageCatalog.Evaluate).Ran);

        // A new weight makes the stage stale, and only its row renders: one cell per epoch.
        var more = f.Recipe("[0.5, 0.75, 1.0]");
        Assert.True(f.Run(more, StageCatalog.Evaluate).Ran);
        Assert.Equal(new EvaluationCounts(2, 5), f.Evaluate.LastRun);
        using var doc2 = JsonDocument.Parse(File.ReadAllText(f.Output(EvaluateStage.JsonFile)));
        Assert.Equal(9, doc2.RootElement.GetProperty("cells").GetArrayLength());

        // A damaged cell entry reads as missing and is rendered again; the others stay cached.
        var cellDir = Directory.EnumerateDirectories(Path.Combine(f.Repo.Layout.StoreDir, "entries", CellStore.Kind)).Order(StringComparer.Ordinal).First();
        File.AppendAllText(Path.Combine(cellDir, CellStore.ImageFile), "x");
        Assert.True(f.Run(more, StageCatalog.Evaluate, force: true).Ran);
        Assert.Equal(new EvaluationCounts(1, 6), f.Evaluate.LastRun);
        output.WriteLine($"whole test: {watch.Elapsed.TotalSeconds:0.0}s");
    }
}
