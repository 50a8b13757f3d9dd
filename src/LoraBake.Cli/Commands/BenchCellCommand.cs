using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using LoraBake.Models;
using LoraBake.Models.Checkpoints;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Networks;
using LoraBake.Sampling;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake bench cell`: seconds for one evaluation cell (text to image) on a full-size SD1.5 architecture with
/// random weights, without a LoRA and with one (merged into the weights, and as forward hooks).
/// </summary>
[Description("Time one grid cell on the full-size SD1.5 architecture (random weights): no LoRA, LoRA merged, LoRA as forward hooks.")]
public sealed class BenchCellCommand : Command<BenchCellCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--steps <N>")]
        [DefaultValue(20)]
        public int Steps { get; init; } = 20;

        [CommandOption("--size <PX>")]
        [DefaultValue(512)]
        public int Size { get; init; } = 512;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(Path.GetTempPath(), "lorabake-bench-cell-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(temp);
        try
        {
            BuiltinVocabulary.Write(Path.Combine(temp, "tokenizer"));
            TorchSharp.torch.manual_seed(0);
            var text = new ClipTextModel(ClipTextConfig.Sd1);
            var unet = new UNet2DConditionModel(UNetConfig.Sd15);
            var vae = new AutoencoderKL(VaeConfig.Sd1);
            foreach (var m in new nn.Module[] { text, unet, vae })
            {
                m.eval();
                foreach (var p in m.parameters()) p.requires_grad = false;
            }
            using var model = new Sd1Model
            {
                Tokenizer = ClipTokenizer.Load(Path.Combine(temp, "tokenizer")), TextEncoder = text, Unet = unet, Vae = vae,
                CheckpointPath = "(random SD1.5)", FrozenDtype = ScalarType.Float32,
            };
            var lora = Path.Combine(temp, "bench-lora.safetensors");
            using (var network = LoraNetwork.Create(unet, text, NetworkType.LoRA, 16, 8))
            {
                using (no_grad())
                    foreach (var m in network.Modules.OfType<LoRAModule>()) m.Up.normal_(0, 0.01);
                SafetensorsWriter.Save(lora, network.StateDict(ScalarType.Float16));
                network.Remove();
            }
            var request = new GenerateRequest("1girl, solo, red hair", "lowres", 1, settings.Steps, "euler_a", 7, settings.Size, settings.Size, []);
            foreach (var (label, mode, loras) in new (string, LoraApplyMode, IReadOnlyList<LoraReference>)[]
                     {
                         ("no LoRA", LoraApplyMode.Merge, []),
                         ("LoRA dim 16, merged", LoraApplyMode.Merge, [LoraReference.Uniform(lora, 0.8)]),
                         ("LoRA dim 16, forward hooks", LoraApplyMode.Hooks, [LoraReference.Uniform(lora, 0.8)]),
                     })
            {
                using var generator = new Sd1Generator(model, mode);
                var sw = Stopwatch.StartNew();
                using var image = generator.Generate(request with { Loras = loras });
                double s = sw.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"SD1.5 cell {settings.Size}px, {settings.Steps} steps euler_a cfg 7, {label}: {s:0.0} s ({1 / s:0.0000} cells/s)"));
            }
            return 0;
        }
        finally
        {
            try { Directory.Delete(temp, true); } catch (IOException) { }
        }
    }
}
