using System.Globalization;
using System.Text;
using LoraBake.Cli;
using LoraBake.Data;
using LoraBake.Download;
using LoraBake.Evaluation;
using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Networks;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LoraBake.Tests.Recipes;

/// <summary>
/// The guard against a silent key: every key of recipes/base.yaml is changed, one at a time, and both (1) the
/// fingerprint of the stage it belongs to changes and (2) something the key documents is observably different,
/// computed by the code that consumes it — the processed dataset (DatasetProcessor), the step math and LR curve
/// (EpochSchedule), the captions a step trains (EpochTrainer), the text encoding (EpochTrainer on the tiny
/// model), the optimizer (OptimizerFactory), the kohya metadata (TrainExportStage.Info → KohyaMetadata), the
/// exported files (KeptEpochs, precision), the grid (EvaluationGrid) or the model files (ModelSource,
/// ModelFiles, ContinueFromLora). A key added to base.yaml without a row here fails the test.
/// </summary>
public sealed class EveryKeyDoesSomethingTests(ITestOutputHelper output) : IDisposable
{
    const string Project = "walk";
    readonly RecipeTestRepo repo = new();
    public void Dispose() => repo.Dispose();

    /// <summary>One row: the key, the YAML values that change it (plus any context it needs, on both sides), the stage that owns it, what shows it.</summary>
    sealed record Row(string Key, string Changed, string Stage, string Observed, string Context = "");

    static readonly Row[] Rows =
    [
        new("model.source", "model.source: tiny.safetensors", "Download", "model"),
        new("model.sha256", "model.sha256: " + new string('a', 64), "Download", "model"),
        new("model.vae", "model.vae: vae.safetensors", "Download", "model"),
        new("model.vae_sha256", "model.vae_sha256: " + new string('b', 64), "Download", "model", "model.vae: vae.safetensors"),
        new("model.tokenizer", "model.tokenizer: tok", "Train-Epoch-01", "model"),

        new("dataset.path", "dataset.path: other", "Process", "process"),
        new("dataset.resolution", "dataset.resolution: 640", "Process", "process"),
        new("dataset.flip_aug", "dataset.flip_aug: true", "Process", "process"),
        new("dataset.shuffle_tags", "dataset.shuffle_tags: false", "Process", "captions"),
        new("dataset.activation_tags", "dataset.activation_tags: 2", "Process", "captions"),
        new("dataset.caption_extension", "dataset.caption_extension: .caption", "Process", "process"),
        new("dataset.num_repeats", "dataset.num_repeats: 3", "Process", "schedule"),
        new("dataset.enable_bucket", "dataset.enable_bucket: false", "Process", "process"),
        new("dataset.min_bucket_reso", "dataset.min_bucket_reso: 448", "Process", "process"),
        new("dataset.max_bucket_reso", "dataset.max_bucket_reso: 576", "Process", "process"),
        new("dataset.bucket_reso_steps", "dataset.bucket_reso_steps: 32", "Process", "process"),
        new("dataset.bucket_no_upscale", "dataset.bucket_no_upscale: true", "Process", "process"),
        new("dataset.caption_dropout_rate", "dataset.caption_dropout_rate: 0.5", "Process", "captions"),
        new("dataset.caption_tag_dropout_rate", "dataset.caption_tag_dropout_rate: 0.5", "Process", "captions"),
        new("dataset.keep_duplicates", "dataset.keep_duplicates: true", "Process", "process"),
        new("dataset.strict", "dataset.strict: true", "Process", "process"),
        new("dataset.follow_links", "dataset.follow_links: true", "Process", "process"),
        new("dataset.background", "dataset.background: black", "Process", "process"),
        new("dataset.max_image_pixels", "dataset.max_image_pixels: 1000", "Process", "process"),
        new("dataset.subsets", "dataset.subsets: [{path: dataset, num_repeats: 2}, {path: reg, num_repeats: 1, is_reg: true}]", "Process", "schedule"),

        new("training.preferred_unit", "training.preferred_unit: steps", "Train-Epoch-01", "schedule"),
        new("training.how_many", "training.how_many: 3", "Train-Epoch-01", "schedule"),
        new("training.save_every_n_epochs", "training.save_every_n_epochs: 2", "Train-Export", "export"),
        new("training.keep_only_last_n_epochs", "training.keep_only_last_n_epochs: 1", "Train-Export", "export", "training.how_many: 4"),
        new("training.train_batch_size", "training.train_batch_size: 1", "Process", "schedule"),
        new("training.unet_lr", "training.unet_lr: 1e-3", "Train-Epoch-01", "metadata:ss_unet_lr"),
        new("training.text_encoder_lr", "training.text_encoder_lr: 2e-4", "Train-Epoch-01", "metadata:ss_text_encoder_lr"),
        new("training.lr_scheduler", "training.lr_scheduler: linear", "Train-Epoch-01", "schedule"),
        new("training.lr_scheduler_number", "training.lr_scheduler_number: 2", "Train-Epoch-01", "schedule"),
        new("training.lr_warmup_ratio", "training.lr_warmup_ratio: 0.2", "Train-Epoch-01", "schedule"),
        new("training.min_snr_gamma", "training.min_snr_gamma: 1.0", "Train-Epoch-01", "metadata:ss_min_snr_gamma"),
        new("training.noise_offset", "training.noise_offset: 0.05", "Train-Epoch-01", "metadata:ss_noise_offset"),
        new("training.clip_skip", "training.clip_skip: 1", "Train-Epoch-01", "encode"),
        new("training.max_token_length", "training.max_token_length: 75", "Train-Epoch-01", "encode"),
        new("training.seed", "training.seed: 7", "Process", "captions"),
        new("training.save_precision", "training.save_precision: bf16", "Train-Export", "export"),
        // fp16: auto may resolve to bf16 or fp32 depending on the machine, but never to fp16 on a CPU.
        new("training.mixed_precision", "training.mixed_precision: fp16", "Train-Epoch-01", "frozen"),
        new("training.gradient_checkpointing", "training.gradient_checkpointing: true", "Train-Epoch-01", "metadata:ss_gradient_checkpointing"),
        // cuda: on a CPU machine auto and cpu are the same device, and a GPU's fingerprint differs from the CPU's.
        new("training.device", "training.device: cuda", "Train-Epoch-01", "device"),
        // native: never the route auto takes where oneDNN or unfold is right, and never refused by the self-test.
        new("training.conv_route", "training.conv_route: native", "Train-Epoch-01", "conv_route"),
        new("training.optimizer", "training.optimizer: Lion", "Train-Epoch-01", "optimizer"),
        new("training.override_values_for_dadapt_and_prodigy", "training.override_values_for_dadapt_and_prodigy: false", "Train-Epoch-01", "optimizer",
            "training.optimizer: Prodigy\ntraining.unet_lr: 1.0\ntraining.text_encoder_lr: 1.0"),
        new("training.optimizer_args", "training.optimizer_args: [weight_decay=0.1]", "Train-Epoch-01", "optimizer"),
        new("training.max_grad_norm", "training.max_grad_norm: 0", "Train-Epoch-01", "metadata:ss_max_grad_norm"),
        new("training.weighted_captions", "training.weighted_captions: true", "Train-Epoch-01", "encode"),
        new("training.prior_loss_weight", "training.prior_loss_weight: 0.5", "Train-Epoch-01", "metadata:ss_prior_loss_weight"),
        new("training.continue_from_lora", "training.continue_from_lora: start.safetensors", "Train-Epoch-01", "start"),

        new("network.lora_type", "network.lora_type: LoCon", "Train-Epoch-01", "metadata:ss_network_args"),
        new("network.network_dim", "network.network_dim: 32", "Train-Epoch-01", "metadata:ss_network_dim"),
        new("network.network_alpha", "network.network_alpha: 4", "Train-Epoch-01", "metadata:ss_network_alpha"),
        new("network.conv_dim", "network.conv_dim: 4", "Train-Epoch-01", "metadata:ss_network_args", "network.lora_type: LoCon"),
        new("network.conv_alpha", "network.conv_alpha: 2", "Train-Epoch-01", "metadata:ss_network_args", "network.lora_type: LoCon"),

        new("evaluation.prompts", "evaluation.prompts: [\"[trigger], smile\"]", "Evaluate", "grid"),
        new("evaluation.negative_prompt", "evaluation.negative_prompt: blurry", "Evaluate", "grid"),
        new("evaluation.seeds", "evaluation.seeds: [3]", "Evaluate", "grid"),
        new("evaluation.sampler", "evaluation.sampler: ddim", "Evaluate", "grid"),
        new("evaluation.steps", "evaluation.steps: 10", "Evaluate", "grid"),
        new("evaluation.cfg", "evaluation.cfg: 5", "Evaluate", "grid"),
        new("evaluation.width", "evaluation.width: 256", "Evaluate", "grid"),
        new("evaluation.height", "evaluation.height: 256", "Evaluate", "grid"),
        new("evaluation.epochs", "evaluation.epochs: \"1\"", "Evaluate", "grid"),
        new("evaluation.weights", "evaluation.weights: [1.0]", "Evaluate", "grid"),
        new("evaluation.x_axis", "evaluation.x_axis: \"Prompt S/R: solo, duo\"", "Evaluate", "grid"),
        new("evaluation.y_axis", "evaluation.y_axis: \"Seed: 1, 5\"", "Evaluate", "grid"),
        new("evaluation.preview", "evaluation.preview: true", "Evaluate", "preview"),
        new("evaluation.z_axis", "evaluation.z_axis: \"Weight: 0.5, 1\"", "Evaluate", "grid"),
    ];

    /// <summary>Every leaf key of base.yaml, as section.key.</summary>
    static List<string> BaseKeys() =>
        RecipeLoader.Sections.SelectMany(s => KeyNames.Keys(s.Type).Keys.Select(k => s.Name + "." + k)).ToList();

    [Fact]
    public void Every_base_yaml_key_has_a_row()
    {
        var keys = BaseKeys();
        Assert.Equal(keys.Order(StringComparer.Ordinal), Rows.Select(r => r.Key).Order(StringComparer.Ordinal));
        // base.yaml writes each of them (PresetTests checks their comments).
        var text = File.ReadAllText(Path.Combine(RecipeTestRepo.PresetsDir, "base.yaml"));
        Assert.All(keys, k => Assert.Contains("\n  " + k.Split('.')[1] + ":", text));
    }

    [Fact]
    public void Each_rows_stage_is_the_one_the_schema_declares()
    {
        string StageName(FingerprintedBy stage) => stage switch
        {
            FingerprintedBy.TrainEpoch => "Train-Epoch-01",
            FingerprintedBy.TrainExport => "Train-Export",
            _ => stage.ToString(),
        };
        Assert.All(Rows, r => Assert.Equal(StageName(RecipeSchema.ByPath[r.Key].Stage), r.Stage));
    }

    /// <summary>project.yaml: extends base, the tiny model, and the given "section.key: value" lines.</summary>
    static string Yaml(IEnumerable<string> lines)
    {
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal)
        {
            ["model"] = [], ["dataset"] = [], ["training"] = [], ["network"] = [], ["evaluation"] = [],
        };
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["model.source"] = "builtin:tiny-sd1", ["training.how_many"] = "2" };
        foreach (var line in lines.SelectMany(l => l.Split('\n')).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':');
            values[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        foreach (var (key, value) in values) sections[key.Split('.')[0]].Add($"  {key.Split('.')[1]}: {value}");
        var sb = new StringBuilder("extends: base\n");
        foreach (var (name, entries) in sections.Where(s => s.Value.Count > 0)) sb.Append(name).Append(":\n").AppendJoin("\n", entries).Append('\n');
        return sb.ToString();
    }

    void WriteDataset(string projectDir, string checkpoint)
    {
        void Png(string path, Rgba32 colour, int w = 64, int h = 64)
        {
            using var img = new Image<Rgba32>(w, h, colour);
            img[0, 0] = new Rgba32(0, 0, 0, 0);   // one transparent pixel: the background colour shows in the processed image
            img.SaveAsPng(path);
        }
        foreach (var (folder, ext) in new[] { ("dataset", ".txt"), ("other", ".txt") })
        {
            var dir = Path.Combine(projectDir, folder);
            Directory.CreateDirectory(dir);
            Png(Path.Combine(dir, "a.png"), new Rgba32(200, 40, 60, 255));
            Png(Path.Combine(dir, "b.png"), new Rgba32(40, 200, 60, 255), 96, 64);
            Png(Path.Combine(dir, "c.png"), new Rgba32(40, 60, 200, 255), 64, 96);
            File.Copy(Path.Combine(dir, "a.png"), Path.Combine(dir, "a2.png"));   // a duplicate, for keep_duplicates
            foreach (var stem in new[] { "a", "a2", "b", "c" })
            {
                File.WriteAllText(Path.Combine(dir, stem + ext), $"walkchan, red hair, {stem}, smile, outdoors, sky, red hair");
                File.WriteAllText(Path.Combine(dir, stem + ".caption"), $"other caption {stem}");
            }
            File.WriteAllBytes(Path.Combine(dir, "broken.png"), [1, 2, 3]);   // an unreadable file, for strict
        }
        // A link that leaves the dataset folder, for follow_links (skipped unless it is true).
        Directory.CreateDirectory(Path.Combine(projectDir, "elsewhere"));
        Png(Path.Combine(projectDir, "elsewhere", "d.png"), new Rgba32(120, 120, 20, 255));
        File.CreateSymbolicLink(Path.Combine(projectDir, "dataset", "d.png"), Path.Combine(projectDir, "elsewhere", "d.png"));
        var reg = Path.Combine(projectDir, "reg");
        Directory.CreateDirectory(reg);
        Png(Path.Combine(reg, "r.png"), new Rgba32(90, 90, 90, 255));
        File.WriteAllText(Path.Combine(reg, "r.txt"), "1girl");
        File.Copy(checkpoint, Path.Combine(projectDir, "tiny.safetensors"));
        File.Copy(checkpoint, Path.Combine(projectDir, "vae.safetensors"));
        Directory.CreateDirectory(Path.Combine(projectDir, "tok"));
        foreach (var f in Directory.GetFiles(Sd1Model.DefaultTokenizerDir(checkpoint)!)) File.Copy(f, Path.Combine(projectDir, "tok", Path.GetFileName(f)));
        File.WriteAllBytes(Path.Combine(projectDir, "start.safetensors"), [0]);
    }

    /// <summary>What the code that consumes the recipe does with it, as named strings.</summary>
    Dictionary<string, string> Observe(Recipe recipe, string projectDir, Sd1Model model, ArtifactStore store)
    {
        var o = new Dictionary<string, string>(StringComparer.Ordinal);
        var m = recipe.Model;
        o["model"] = $"{ModelSource.Resolve(m.Source, m.Sha256, projectDir, out _)} vae={(m.Vae is null ? "" : ModelSource.Resolve(m.Vae, m.VaeSha256, projectDir, out _, allowPresets: false)?.ToString())}" +
                     $" tokenizer={ModelFiles.TokenizerDir(recipe, projectDir, "/model/tiny.safetensors", "/entry")}";
        o["start"] = recipe.Training.ContinueFromLora is { } lora ? ContinueFromLora.Resolve(lora, projectDir, out _) ?? "missing" : "none";
        o["frozen"] = TrainEpochStage.FrozenDtype(recipe.Training.MixedPrecision).ToString();
        o["device"] = LoraBake.Runtime.ComputeDevice.Resolve(recipe.Training.Device);
        // What ApplyRecipe would make the route (applying it here would switch the route under the parallel tests).
        o["conv_route"] = LoraBake.Numerics.ConvRoutes.Name(LoraBake.Numerics.ConvRoutes.Parse(recipe.Training.ConvRoute) ?? LoraBake.Numerics.NumericsGuard.Current.Route);

        DatasetResult processed;
        try
        {
            var root = DatasetDiscovery.DatasetRoot(projectDir, recipe.Dataset);
            processed = new DatasetProcessor(new StoreProcessedImageCache(store), ProcessStage.HashCache(store, root), 1)
                .Run(projectDir, Project, recipe.Dataset, recipe.Training.TrainBatchSize);
        }
        catch (LoraBake.Runtime.UserError e)
        {
            o["process"] = "error: " + e.Message;
            return o;
        }
        o["process"] = processed.Index.ToJson() + processed.Report.ToJson();

        var t = recipe.Training;
        var schedule = new EpochSchedule(processed.Index, t);
        var batches = schedule.BatchesOf(1);
        o["schedule"] = string.Create(CultureInfo.InvariantCulture,
            $"{schedule.StepsPerEpoch} {schedule.TotalSteps} {schedule.Epochs} {schedule.WarmupSteps} {schedule.Samples} " +
            $"lr {string.Join(",", Enumerable.Range(0, schedule.TotalSteps).Select(schedule.Lr.Multiplier))} " +
            $"order {string.Join(";", batches.Select(b => string.Join(",", b.Samples.Select(s => s.SampleId))))}");
        o["captions"] = string.Join(" | ", batches.SelectMany(b => b.Samples).Select(s => EpochTrainer.Caption(processed.Index, s, 1, t.Seed)));

        using (no_grad())
        {
            var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
            using var states = EpochTrainer.Encode(encoder, ["walkchan, (red hair:1.5), smile"], t);
            o["encode"] = $"{string.Join("x", states.shape)} {states.sum().item<float>().ToString("R", CultureInfo.InvariantCulture)}";
        }

        using (var optimizer = OptimizerFactory.Create(t.Optimizer, [], new OptimizerArgs(t.OptimizerArgs)))
            o["optimizer"] = $"{optimizer.Description} lr={t.UnetLr.ToString("R", CultureInfo.InvariantCulture)},{t.TextEncoderLr.ToString("R", CultureInfo.InvariantCulture)}";

        var info = TrainExportStage.Info(recipe, processed.Index, processed.Report,
            new DownloadedModel { FileName = "tiny.safetensors", Sha256 = new string('0', 64) }, null, 0);
        foreach (var (k, v) in KohyaMetadata.Build(info)) o["metadata:" + k] = v;

        o["export"] = string.Join(",", TrainExportStage.KeptEpochs(schedule.Epochs, t.SaveEveryNEpochs, t.KeepOnlyLastNEpochs)) + " " + t.SavePrecision switch
        {
            "fp16" => ScalarType.Float16, "bf16" => ScalarType.BFloat16, _ => ScalarType.Float32,
        };

        var grid = EvaluationGrid.Build(recipe.Evaluation, [1, 2], DatasetTrigger.From(processed.Index));
        o["preview"] = string.Join(",", EpochPreview.Epochs(recipe, schedule.Epochs, DatasetTrigger.From(processed.Index)));
        o["grid"] = string.Join("\n", grid.DistinctRenders().Select(r => CellKey.Canonical("m", r.IsBaseline ? null : "l", r)));
        return o;
    }

    [Fact, Trait("Category", "E2E")]
    public void Every_key_changes_its_stage_fingerprint_and_what_it_documents()
    {
        var projectDir = repo.Layout.ProjectDir(Project);
        Directory.CreateDirectory(projectDir);
        var modelDir = Path.Combine(repo.Layout.Root, "tiny");
        TinySd1.Write(modelDir);
        var checkpoint = Directory.GetFiles(modelDir, "*.safetensors").Single();
        WriteDataset(projectDir, checkpoint);
        using var model = Sd1Model.Load(checkpoint);
        var store = new ArtifactStore(repo.Layout.StoreDir);
        var planner = new Planner(repo.Layout, store, PipelineStages.CreateCatalog());
        var runner = new StageRunner(repo.Layout, PipelineStages.CreateCatalog());

        (Dictionary<string, string> Fingerprints, Dictionary<string, string> Observed) Measure(IEnumerable<string> lines)
        {
            repo.WriteProject(Project, Yaml(lines));
            var loaded = RecipeLoader.Load(repo.Layout, Project);
            Assert.True(loaded.Success, loaded.FormatErrors());
            // Processed for real, so each epoch's fingerprint carries the LR of its steps as in a real plan.
            try { runner.Run(Project, loaded.Recipe!, StageCatalog.Process, force: false); }
            catch (LoraBake.Runtime.UserError) { }   // strict: true with the broken file
            var plan = planner.Build(Project, loaded.Recipe!);
            // The first epoch under one name whatever the epoch count (Train-Epoch-01, Train-Epoch-001…).
            var fingerprints = plan.Stages.ToDictionary(s => s.Name.StartsWith("Train-Epoch-", StringComparison.Ordinal) && int.Parse(s.Name["Train-Epoch-".Length..], CultureInfo.InvariantCulture) == 1
                ? "Train-Epoch-01" : s.Name, s => s.Fingerprint?.Hash ?? "none");
            return (fingerprints, Observe(loaded.Recipe!, projectDir, model, store));
        }

        var failures = new List<string>();
        var baselines = new Dictionary<string, (Dictionary<string, string>, Dictionary<string, string>)>();
        foreach (var row in Rows)
        {
            if (!baselines.TryGetValue(row.Context, out var before)) baselines[row.Context] = before = Measure([row.Context]);
            var after = Measure([row.Context, row.Changed]);
            var stage = row.Stage;
            if (before.Item1[stage] == after.Item1[stage]) failures.Add($"{row.Key}: the {stage} fingerprint did not change");
            // Keys of a later stage leave the earlier ones alone (an evaluation key never retrains).
            foreach (var earlier in StagesBefore(stage))
                if (before.Item1[earlier] != after.Item1[earlier]) failures.Add($"{row.Key}: the {earlier} fingerprint changed too");
            var changed = after.Item2.Keys.Union(before.Item2.Keys)
                .Where(k => before.Item2.GetValueOrDefault(k) != after.Item2.GetValueOrDefault(k)).ToList();
            if (!changed.Any(k => k == row.Observed || k.StartsWith(row.Observed + ":", StringComparison.Ordinal)))
                failures.Add($"{row.Key}: nothing observable changed in {row.Observed} (changed: {string.Join(", ", changed)})");
            output.WriteLine($"{row.Key}: {stage} fingerprint changed; observed {row.Observed}; also changed: {string.Join(", ", changed.Take(6))}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    static IEnumerable<string> StagesBefore(string stage) => stage switch
    {
        "Process" => ["Download"],
        "Train-Epoch-01" => ["Download", "Process"],
        "Train-Export" => ["Download", "Process", "Train-Epoch-01"],
        "Evaluate" => ["Download", "Process", "Train-Epoch-01", "Train-Export"],
        _ => [],
    };
}
