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
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake bench cell`: seconds for one evaluation grid cell — one setting rendered for S seeds — on a full-size
/// SD1.5 architecture with random weights and a LoRA merged, as the grid rendered it before (one seed at a time, the
/// LoRA merged and restored around each) and as it renders now (the seeds as one UNet batch, one merge). Each way
/// prints its total, the time per image, the mean UNet step (from the second step on) and the fixed rest (prompt
/// encoding, merge, noise, VAE decodes), and the total projected to 20 steps, so a short run still gives the 20-step cell.
/// </summary>
[Description("Time one grid cell (S seeds) on the full-size SD1.5 architecture (random weights, a LoRA merged): one seed at a time, then the seeds batched.")]
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

        [CommandOption("--seeds <S>")]
        [Description("Seeds in the cell (the demo's grids have 2)")]
        [DefaultValue(2)]
        public int Seeds { get; init; } = 2;

        [CommandOption("--precision <DTYPE>")]
        [Description("The base model's precision for a third way, batched as Evaluate renders: auto (what mixed_precision: auto picks here, as Evaluate follows training), fp32 (no third way) or bf16")]
        [DefaultValue("auto")]
        public string Precision { get; init; } = "auto";

        [CommandOption("--hooks")]
        [Description("Also time one seed with the LoRA as forward hooks")]
        public bool Hooks { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Seeds < 1 || settings.Steps < 1) throw new Runtime.UserError("--seeds and --steps must be at least 1");
        // Evaluate renders in the precision training holds the base model in; checked before the long fp32 ways.
        var precision = LoraBake.Training.AutoPrecision.Resolve(settings.Precision);
        if (precision is not ("fp32" or "bf16")) throw new Runtime.UserError($"--precision {settings.Precision}: use auto, fp32 or bf16.");
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
            var request = new GenerateRequest("1girl, solo, red hair", "lowres", 1, settings.Steps, "euler_a", 7, settings.Size, settings.Size,
                [LoraReference.Uniform(lora, 0.8)]);
            var seeds = Enumerable.Range(1, settings.Seeds).Select(s => (long)s).ToList();
            string cell = string.Create(CultureInfo.InvariantCulture,
                $"SD1.5 cell {settings.Size}px, {seeds.Count} seed(s), {settings.Steps} steps euler_a cfg 7, LoRA dim 16 merged");

            // Before: each seed its own render, the LoRA merged and restored around it.
            var single = new StepClock();
            using (var generator = new Sd1Generator(model))
            {
                generator.Generate(request with { Loras = [], Steps = 1, Width = 64, Height = 64 }).Dispose();   // warm-up, not timed
                foreach (var seed in seeds)
                    single.Time(() => generator.Generate(request with { Seed = seed }, single.OnStep).Dispose());
            }
            Console.WriteLine(single.Line(cell + ", one seed at a time", seeds.Count, settings.Steps));

            // After: the seeds as one UNet batch, the LoRA merged once.
            var batched = Batched(model, request, seeds, warmUp: false);
            Console.WriteLine(batched.Line(cell + ", seeds batched", seeds.Count, settings.Steps));
            Console.WriteLine(batched.Ratio(single, $"{cell}: batched / one at a time", settings.Steps));

            // With bf16, text encoder and UNet in bf16 (the VAE stays fp32, as Sd1Model.Load keeps it); held in bf16 and
            // computed in fp32 where this CPU's bf16 math is wrong, as Sd1Model.Load does.
            if (precision == "bf16")
            {
                var frozen = FrozenPrecision.For(ScalarType.BFloat16);
                foreach (var m in new nn.Module[] { text, unet })
                {
                    m.to(ScalarType.BFloat16);
                    frozen.WidenAllButProducts(m);
                }
                var half = Batched(model, request, seeds, warmUp: true);   // the bf16 kernels warm up untimed
                Console.WriteLine(half.Line(cell + $", seeds batched, base model in {frozen.Describe}", seeds.Count, settings.Steps));
                Console.WriteLine(half.Ratio(single, $"{cell}: bf16 batched / fp32 one at a time", settings.Steps));
            }

            if (settings.Hooks)
            {
                var hooks = new StepClock();
                using var generator = new Sd1Generator(model, LoraApplyMode.Hooks);
                hooks.Time(() => generator.Generate(request, hooks.OnStep).Dispose());
                Console.WriteLine(hooks.Line(cell.Replace("merged", "as forward hooks") + ", one seed", 1, settings.Steps));
            }
            return 0;
        }
        finally
        {
            try { Directory.Delete(temp, true); } catch (IOException) { }
        }
    }

    /// <summary>The seeds as one UNet batch with the LoRA merged once, as Evaluate renders a grid setting.</summary>
    static StepClock Batched(Sd1Model model, GenerateRequest request, IReadOnlyList<long> seeds, bool warmUp)
    {
        var clock = new StepClock();
        using var generator = new Sd1Generator(model);
        using var merged = generator.KeepLorasMerged();
        if (warmUp) generator.Generate(request with { Loras = [], Steps = 1, Width = 64, Height = 64 }).Dispose();
        clock.Time(() => { foreach (var image in generator.GenerateSeeds(request, seeds, clock.OnStep)) image.Dispose(); });
        return clock;
    }

    /// <summary>Total seconds of the timed renders and the seconds of each UNet step after the first of a render.</summary>
    sealed class StepClock
    {
        readonly Stopwatch _watch = new();
        readonly List<double> _steps = [];
        double _lastStep;

        public double Total => _watch.Elapsed.TotalSeconds;
        public int Renders { get; private set; }
        public double MeanStep => _steps.Count > 0 ? _steps.Average() : double.NaN;

        public void Time(Action render)
        {
            Renders++;
            _lastStep = double.NaN;
            _watch.Start();
            render();
            _watch.Stop();
        }

        public void OnStep(int index, int count)
        {
            double now = _watch.Elapsed.TotalSeconds;
            if (index > 0) _steps.Add(now - _lastStep);
            _lastStep = now;
        }

        /// <summary>The same renders at <paramref name="to"/> steps: the fixed rest plus that many mean steps.</summary>
        public double Projected(int steps, int to) =>
            _steps.Count == 0 ? double.NaN : Total + (to - steps) * Renders * MeanStep;

        /// <summary>This way's total over <paramref name="baseline"/>'s, measured and projected to 20 steps.</summary>
        public string Ratio(StepClock baseline, string label, int steps) => string.Create(CultureInfo.InvariantCulture,
            $"{label} = {Total / baseline.Total:0.000} (projected to 20 steps: {Projected(steps, 20) / baseline.Projected(steps, 20):0.000})");

        public string Line(string label, int images, int steps) => string.Create(CultureInfo.InvariantCulture,
            $"{label}: {Total:0.0} s ({Total / images:0.0} s per image); UNet step {MeanStep:0.00} s, the rest {Total - steps * Renders * MeanStep:0.0} s; " +
            $"projected to 20 steps {Projected(steps, 20):0.0} s ({Projected(steps, 20) / images:0.0} s per image)");
    }
}
