using System.ComponentModel;
using System.Globalization;
using LoraBake.Models;
using LoraBake.ToyWorld;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake pretrain-toy`: makes builtin:toy-sd1 from zero on the procedural toy world (seeded; see ToyPretrainer).</summary>
[Description("Pretrain the toy SD1 base (builtin:toy-sd1) on the procedural toy world: VAE, then UNet + text encoder. Seeded.")]
public sealed class PretrainToyCommand : Command<PretrainToyCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>")]
        [Description("Where to write toy-sd1.safetensors, its sidecar and tokenizer/ (the shipped copy: src/LoraBake/Models/Builtin/toy-sd1).")]
        public string Out { get; init; } = "src/LoraBake/Models/Builtin/toy-sd1";

        [CommandOption("--seed <N>")]
        public long? Seed { get; init; }

        [CommandOption("--vae-steps <N>")]
        public int? VaeSteps { get; init; }

        [CommandOption("--steps <N>")]
        [Description("UNet + text encoder steps.")]
        public int? Steps { get; init; }

        [CommandOption("--batch <N>")]
        public int? Batch { get; init; }

        [CommandOption("--lr <LR>")]
        public double? Lr { get; init; }

        [CommandOption("--from <CHECKPOINT>")]
        [Description("Continue from this toy-sd1 checkpoint instead of from zero (with --vae-steps 0 its VAE is kept). Use a new --seed, so the scenes and noise are new ones.")]
        public string? From { get; init; }

        [CommandOption("--threads <N>")]
        [Description("Torch threads (default 1: on a shared 2-core machine one thread ran ~7× faster than two, which stall on each other).")]
        [DefaultValue(1)]
        public int Threads { get; init; } = 1;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        TorchSharp.torch.set_num_threads(settings.Threads);
        var d = new ToyPretrainSettings();
        var s = d with
        {
            Seed = settings.Seed ?? d.Seed, VaeSteps = settings.VaeSteps ?? d.VaeSteps, DiffusionSteps = settings.Steps ?? d.DiffusionSteps,
            DiffusionBatch = settings.Batch ?? d.DiffusionBatch, DiffusionLr = settings.Lr ?? d.DiffusionLr,
            FromSha256 = settings.From is null ? null : LoraBake.Pipeline.Hashing.Sha256File(settings.From),
        };
        var r = new ToyPretrainer(s, Console.WriteLine).Run(settings.Out, settings.From);
        var vae = s.VaeSteps == 0 && settings.From is not null ? "VAE kept from the checkpoint"
            : string.Create(CultureInfo.InvariantCulture, $"VAE loss {r.VaeLoss:0.00000} ({r.VaeTime:mm\\:ss})");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pretrain-toy: wrote {Path.Combine(settings.Out, ToySd1.CheckpointFile)}; {vae}, " +
            $"diffusion loss {r.DiffusionLoss:0.00000} ({r.DiffusionTime:mm\\:ss}); latent scale ×{r.LatentScale:0.###}"));
        return 0;
    }
}
