using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using LoraBake.Download;
using LoraBake.Models;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.Sampling;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake generate`: one txt2img render, webui-style, to a PNG carrying webui's `parameters` infotext.
/// The same flags as the Evaluate report prints for each grid cell, so any cell can be reproduced by hand.
/// </summary>
[Description("Render one image from a prompt (optionally with LoRA files) and save it as PNG with webui's parameters text.")]
public sealed class GenerateCommand : Command<GenerateCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-m|--model <SOURCE>")]
        [Description("SD 1.x checkpoint (.safetensors or .ckpt). Or use --project.")]
        public string? Model { get; init; }

        [CommandOption("-p|--project <NAME>")]
        [Description("Use the base model (and VAE) the project's Download stage fetched; <lora:NAME> also looks in output/NAME/.")]
        public string? Project { get; init; }

        [CommandOption("--prompt <TEXT>")]
        [Description("The prompt; webui syntax: (word:1.2), [[word]], BREAK, <lora:NAME:W>.")]
        public string Prompt { get; init; } = "";

        [CommandOption("--negative <TEXT>")]
        [Description("The negative prompt.")]
        public string Negative { get; init; } = "";

        [CommandOption("--seed <SEED>")]
        [Description("Seed of the initial noise (0 or more). Default 1.")]
        public long Seed { get; init; } = 1;

        [CommandOption("--steps <N>")]
        [Description("Sampling steps. Default 20.")]
        public int Steps { get; init; } = 20;

        [CommandOption("--sampler <NAME>")]
        [Description("ddim, euler, euler_a or dpmpp_2m_karras (or the webui names). Default euler_a.")]
        public string Sampler { get; init; } = "euler_a";

        [CommandOption("--cfg <SCALE>")]
        [Description("CFG scale. Default 7.")]
        public double Cfg { get; init; } = 7;

        [CommandOption("--width <W>")]
        [Description("Width in pixels, a multiple of 8. Default 512.")]
        public int Width { get; init; } = 512;

        [CommandOption("--height <H>")]
        [Description("Height in pixels, a multiple of 8. Default 512.")]
        public int Height { get; init; } = 512;

        [CommandOption("-o|--out <FILE>")]
        [Description("The PNG to write.")]
        public string Out { get; init; } = "";

        [CommandOption("--lora <FILE[:WEIGHT]>")]
        [Description("A LoRA/LoCon/LoHa file, optionally :WEIGHT or :TE:UNET (default 1). Repeatable.")]
        public string[] Loras { get; init; } = [];

        [CommandOption("--tokenizer <DIR>")]
        [Description("CLIP tokenizer folder (vocab.json, merges.txt). Default: tokenizer/ next to the checkpoint.")]
        public string? Tokenizer { get; init; }

        [CommandOption("--vae <FILE>")]
        [Description("A separate VAE file.")]
        public string? Vae { get; init; }

        [CommandOption("--clip-skip <K>")]
        [Description("webui's Clip skip: 1 = last text-encoder layer (default), 2 = penultimate.")]
        public int ClipSkip { get; init; } = 1;

        [CommandOption("--lora-mode <MODE>")]
        [Description("merge (default: ΔW folded into the weights for the render, originals restored after) or hooks (adapters run beside the layers).")]
        public LoraApplyMode LoraMode { get; init; } = LoraApplyMode.Merge;

        [CommandOption("--precision <DTYPE>")]
        [Description("What the base model computes in: fp32 (default) or bf16 (refused where the numerics self-test found bf16 wrong). The VAE decodes in fp32.")]
        [DefaultValue("fp32")]
        public string Precision { get; init; } = "fp32";

        [CommandOption("--device <DEVICE>")]
        [Description("Where the model runs: auto (cuda:0 when CUDA is available, else cpu), cpu, cuda or cuda:N; default: the project's training.device, else auto.")]
        public string? Device { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        Run(settings, Console.Error);

    /// <summary>Renders and saves the image; progress and timing go to <paramref name="log"/>.</summary>
    public static int Run(Settings settings, TextWriter log)
    {
        if (string.IsNullOrWhiteSpace(settings.Out))
            throw new UserError("lorabake generate: no output file given; pass --out image.png.");
        var source = ResolveModel(settings);
        var request = new GenerateRequest(settings.Prompt, settings.Negative, settings.Seed, settings.Steps, settings.Sampler,
            settings.Cfg, settings.Width, settings.Height, settings.Loras.Select(ParseLora).ToList(), settings.ClipSkip);
        SamplerRegistry.Create(request.Sampler, where: "--sampler");   // fail before the model loads

        var clock = Stopwatch.StartNew();
        var device = ComputeDevice.Select(settings.Device ?? source.Device, settings.Device is null && settings.Project is not null ? "training.device" : DeviceOverride.Flag);
        var dtype = settings.Precision switch
        {
            "fp32" => TorchSharp.torch.ScalarType.Float32,
            "bf16" => TorchSharp.torch.ScalarType.BFloat16,
            _ => throw new UserError($"--precision {settings.Precision}: use fp32 or bf16."),
        };
        using var model = Sd1Model.Load(source.Checkpoint, source.Vae, source.Tokenizer, frozenDtype: dtype, sidecarPath: source.Sidecar, device: device);
        log.WriteLine($"loaded {source.Checkpoint} on {device} in {clock.Elapsed.TotalSeconds:0.0}s");
        using var generator = new Sd1Generator(model, settings.LoraMode) { LoraSearchFolders = source.LoraFolders };
        string infotext = generator.Infotext(request, source.Name, source.Hash ?? WebuiHashes.ModelHash(source.Checkpoint));

        clock.Restart();
        using var image = generator.Generate(request, (i, n) => log.WriteLine($"step {i + 1}/{n}"));
        PngFile.Save(image, settings.Out, infotext);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {settings.Out} ({clock.Elapsed.TotalSeconds:0.00}s)"));
        return 0;
    }

    sealed record ModelSource(string Checkpoint, string? Vae, string? Tokenizer, string Name, string? Hash, IReadOnlyList<string> LoraFolders, string? Sidecar = null,
        string Device = ComputeDevice.Auto);

    static ModelSource ResolveModel(Settings s)
    {
        if (s.Model is null == s.Project is null)
            throw new UserError("lorabake generate: give exactly one of --model CHECKPOINT or --project NAME.");
        if (s.Model is { } path)
        {
            if (!File.Exists(path))
                throw new UserError($"{path}: checkpoint not found. Pass --model with the path of an SD 1.x .safetensors or .ckpt file.");
            return new ModelSource(path, s.Vae, s.Tokenizer, Path.GetFileNameWithoutExtension(path), null, ["."]);
        }
        var (layout, recipe, _) = ProjectRecipe.Load(s.Project!, device: s.Device);
        var store = new ArtifactStore(layout.StoreDir);
        var plan = new Planner(layout, store, PipelineStages.CreateCatalog()).Build(s.Project!, recipe);
        if (plan.Find(StageCatalog.Download)?.Result?.EntryDirectory is not { } dir || DownloadedModel.Load(dir) is not { } model)
            throw new UserError($"project {s.Project}: its base model is not downloaded yet; run `lorabake download --project {s.Project}` first.");
        string checkpoint = ModelFiles.Checkpoint(model, dir, store);
        string? vae = s.Vae ?? DownloadedModel.Load(dir, "vae")?.Path(dir, store);
        string? tokenizer = s.Tokenizer ?? ModelFiles.TokenizerDir(recipe, layout.ProjectDir(s.Project!), checkpoint, dir);
        // A single file's SHA-256 is already known; webui's hash is its first 10 digits.
        string? hash = model.Folder is null ? model.Sha256[..10] : null;
        return new ModelSource(checkpoint, vae, tokenizer, Path.GetFileNameWithoutExtension(model.FileName), hash,
            [layout.OutputDir(s.Project!), "."], ModelFiles.Sidecar(dir), recipe.Training.Device);
    }

    /// <summary>FILE, FILE:W or FILE:TE:UNET; the weights are the trailing numbers (a path may contain ':').</summary>
    public static LoraReference ParseLora(string value)
    {
        var parts = value.Split(':').ToList();
        var weights = new List<double>();
        while (parts.Count > 1 && weights.Count < 2
               && double.TryParse(parts[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double w))
        {
            weights.Insert(0, w);
            parts.RemoveAt(parts.Count - 1);
        }
        string path = string.Join(':', parts);
        if (!File.Exists(path))
            throw new UserError($"--lora {value}: file '{path}' not found. Pass --lora PATH.safetensors[:WEIGHT].");
        return weights.Count switch
        {
            0 => LoraReference.Uniform(path, 1.0),
            1 => LoraReference.Uniform(path, weights[0]),
            _ => new LoraReference(path, weights[0], weights[1]),
        };
    }
}
