using System.ComponentModel;
using System.Globalization;
using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Runtime;
using LoraBake.Training;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake bench model`: how fast the model stack runs here, on random weights.</summary>
[Description("Benchmark the SD1 model stack on random weights: UNet forward (fp32/bf16) with GFLOP/s against a large matmul, CLIP, VAE, and a LoRA training step.")]
public sealed class BenchModelCommand : Command<BenchModelCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--size <NAME>")]
        [Description("sd15 (full size) or tiny (the built-in demo model).")]
        [DefaultValue("sd15")]
        public string Size { get; init; } = "sd15";

        [CommandOption("--runs <N>")]
        [DefaultValue(3)]
        public int Runs { get; init; } = 3;

        [CommandOption("--profile")]
        [Description("Only profile one training step: forward and backward seconds of every resnet and transformer block.")]
        public bool Profile { get; init; }

        [CommandOption("--mixed-precision <DTYPE>")]
        [Description("With --profile: fp32, bf16, or auto (what mixed_precision: auto trains in on this machine).")]
        [DefaultValue("fp32")]
        public string MixedPrecision { get; init; } = "fp32";

        [CommandOption("--train")]
        [Description("Also time one LoRA training step at 512 px per setting (mixed_precision fp32/bf16 × gradient_checkpointing), each in its own process.")]
        public bool Train { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        bool full = settings.Size == "sd15";
        var unet = full ? UNetConfig.Sd15 : TinySd1.UnetConfig(64);
        var text = full ? ClipTextConfig.Sd1 : new ClipTextConfig(VocabSize: 1340, HiddenSize: 64, NumHiddenLayers: 3, NumAttentionHeads: 4, IntermediateSize: 128);
        var vae = full ? VaeConfig.Sd1 : TinySd1.VaeConfig;
        if (settings.Profile) return Profile(unet, full ? "sd15" : "tiny", settings.MixedPrecision);
        Print(new ModelBenchmark.Line("matmul 2048x2048 fp32", 0, $"{ModelBenchmark.MatmulGflops():0.0} GFLOP/s"));
        Print(new ModelBenchmark.Line("matmul 2048x2048 bf16", 0, $"{ModelBenchmark.MatmulGflops(dtype: ScalarType.BFloat16):0.0} GFLOP/s"));
        foreach (var line in ModelBenchmark.Unet(unet, 64, [1, 2], [ScalarType.Float32, ScalarType.BFloat16], settings.Runs)) Print(line);
        foreach (var line in ModelBenchmark.TextAndVae(text, vae, 512, settings.Runs)) Print(line);
        if (settings.Train)
        {
            // One process per setting: peak RSS is a process-wide high-water mark.
            foreach (var precision in new[] { "fp32", "bf16" })
                foreach (var checkpointing in new[] { false, true })
                    RunChild(["bench", "train-step", "--size", settings.Size, "--mixed-precision", precision, "--runs", "1",
                              .. checkpointing ? new[] { "--gradient-checkpointing" } : []]);
            // What bf16 is on a CPU whose bf16 math is wrong: held in bf16, computed in fp32. Measured here too when this
            // CPU's bf16 is right (the variable makes the guard treat it as wrong), so every machine reports both.
            if (LoraBake.Numerics.NumericsGuard.Current.Bf16Usable)
                foreach (var checkpointing in new[] { false, true })
                    RunChild(["bench", "train-step", "--size", settings.Size, "--mixed-precision", "bf16", "--runs", "1",
                              .. checkpointing ? new[] { "--gradient-checkpointing" } : []],
                             (LoraBake.Numerics.NumericsGuard.Bf16EnvironmentVariable, "off"));
            Console.WriteLine($"the route auto picks here: {AutoPrecision.Current.Summary}");
        }
        return 0;
    }

    /// <summary>The per-block table of one training step (the step whose work the bench's ratio counts).</summary>
    static int Profile(UNetConfig unet, string size, string mixedPrecision)
    {
        var precision = LoraBake.Training.AutoPrecision.Resolve(mixedPrecision);
        if (precision is not ("fp32" or "bf16"))
            throw new UserError($"--mixed-precision {mixedPrecision}: the profile runs fp32, bf16 or auto on the CPU.");
        var dtype = precision == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        var (rows, ops, step, forward, opStep) = ModelBenchmark.ProfileStep(unet, 64, dtype);
        var table = new Table().AddColumn("block").AddColumn("forward s").AddColumn("backward s").AddColumn("share of step");
        static string S(double s) => double.IsNaN(s) ? "—" : s.ToString("0.000", CultureInfo.InvariantCulture);
        foreach (var r in rows)
            table.AddRow(r.Block, S(r.Forward), S(r.Backward),
                ((r.Forward + (double.IsNaN(r.Backward) ? 0 : r.Backward)) / step).ToString("0.0%", CultureInfo.InvariantCulture));
        double blocks = rows.Sum(r => r.Forward + (double.IsNaN(r.Backward) ? 0 : r.Backward));
        table.AddRow("[italic]rest (conv_in/out, samplers, time embedding, loss, optimizer, unmarked backward)[/]", "", "",
            ((step - blocks) / step).ToString("0.0%", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{size} profiled train step (mixed_precision={precision}): {step:0.00} s, forward {forward:0.00} s, backward+optimizer {step - forward:0.00} s"));
        Console.WriteLine("— : no gradient reached the block's input (nothing trainable before it), so its backward end is not marked.");

        // By kind of op, over the whole step (blocks, conv_in/out, time embedding), in a step of its own.
        var kinds = new Table().AddColumn("op kind").AddColumn("forward s").AddColumn("backward s").AddColumn("share of step").AddColumn("GFLOP/s");
        foreach (var o in ops)
            kinds.AddRow(Markup.Escape(o.Kind), S(o.Forward), S(o.Backward), ((o.Forward + o.Backward) / opStep).ToString("0.0%", CultureInfo.InvariantCulture),
                // forward + backward to the inputs ≈ twice the forward's work, as the step's rate counts it
                o.ForwardGflop > 0 ? (2 * o.ForwardGflop / (o.Forward + o.Backward)).ToString("0.0", CultureInfo.InvariantCulture) : "—");
        double timed = ops.Sum(o => o.Forward + o.Backward);
        kinds.AddRow("[italic]other (elementwise ops, copies, loss, optimizer, autograd)[/]", "", "", ((opStep - timed) / opStep).ToString("0.0%", CultureInfo.InvariantCulture), "");
        AnsiConsole.Write(kinds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Ops timed in a step of their own: {opStep:0.00} s against {step:0.00} s with blocks alone; the op markers' own cost ({opStep - step:0.00} s) is inside the op times, so shares are indicative."));
        Console.WriteLine("Each op's time excludes the ops nested in it (a LoRA hook inside its linear layer). GFLOP/s: the forward's GFLOP counted twice (forward and backward to the inputs, as the step's rate counts them) over forward + backward seconds.");
        return 0;
    }

    /// <summary>Runs this CLI again with <paramref name="args"/>, its output passed through; a failure fails the bench.</summary>
    static void RunChild(string[] args, (string Name, string Value)? environment = null)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (environment is { } e) start.Environment[e.Name] = e.Value;
        var entry = System.Reflection.Assembly.GetEntryAssembly()!.Location;
        if (!Path.GetFileNameWithoutExtension(Environment.ProcessPath!).Equals("lorabake", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(entry);                  // run as `dotnet lorabake.dll`
        foreach (var a in args) start.ArgumentList.Add(a);
        using var child = System.Diagnostics.Process.Start(start)!;
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"lorabake {string.Join(' ', args)} failed with exit code {child.ExitCode}");
    }

    static void Print(ModelBenchmark.Line line)
    {
        var seconds = line.Seconds > 0 ? line.Seconds.ToString("0.000", CultureInfo.InvariantCulture) + " s" : "";
        Console.WriteLine($"{line.What,-48} {seconds,10}  {line.Detail}");
    }
}
