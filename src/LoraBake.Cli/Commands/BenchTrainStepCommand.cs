using System.ComponentModel;
using System.Globalization;
using LoraBake.Models;
using LoraBake.Models.UNet;
using LoraBake.Numerics;
using LoraBake.Runtime;
using LoraBake.Training;
using TorchSharp;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake bench train-step`: one LoRA training step in one training setting, in a process of its own so that the
/// peak RSS it prints is that setting's. `bench model --train` runs it once per setting.
/// </summary>
[Description("Time one LoRA training step at 512 px in one setting (mixed_precision, gradient_checkpointing); prints one comparable line.")]
public sealed class BenchTrainStepCommand : Command<BenchTrainStepCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--size <NAME>")]
        [Description("sd15 (full size) or tiny (the built-in demo model).")]
        [DefaultValue("sd15")]
        public string Size { get; init; } = "sd15";

        [CommandOption("--mixed-precision <DTYPE>")]
        [Description("fp32 or bf16 (fp16 on CUDA only): the dtype of the frozen weights and of the step's math.")]
        [DefaultValue("fp32")]
        public string MixedPrecision { get; init; } = "fp32";

        [CommandOption("--gradient-checkpointing")]
        public bool GradientCheckpointing { get; init; }

        [CommandOption("--runs <N>")]
        [Description("Timed steps after one untimed first step (the median is printed).")]
        [DefaultValue(1)]
        public int Runs { get; init; } = 1;

        [CommandOption("--device <DEVICE>")]
        [Description("auto (cuda:0 when CUDA is available, else cpu), cpu, cuda or cuda:N. No GPU number has been measured yet.")]
        [DefaultValue("cpu")]
        public string Device { get; init; } = "cpu";

        public override Spectre.Console.ValidationResult Validate() =>
            MixedPrecision is "fp32" or "bf16" or "fp16" ? base.Validate()
                : Spectre.Console.ValidationResult.Error($"--mixed-precision {MixedPrecision}: use fp32 or bf16 (fp16 on CUDA).");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var device = ComputeDevice.Select(settings.Device, "--device");
        var dtype = settings.MixedPrecision switch { "bf16" => ScalarType.BFloat16, "fp16" => ScalarType.Float16, _ => ScalarType.Float32 };
        // Where this CPU's bf16 math is wrong, bf16 holds the weights and the step computes in fp32 (as training does).
        var frozen = FrozenPrecision.For(dtype, device.type);
        var setting = Setting(settings.MixedPrecision + (frozen.Widened ? $" ({frozen.Describe})" : ""), settings.GradientCheckpointing)
                      + (device.type == DeviceType.CPU ? "" : $", device={device}");
        if (dtype == ScalarType.Float16 && device.type != DeviceType.CUDA)
            throw new UserError("--mixed-precision fp16 runs on CUDA only (LibTorch's CPU fp16 kernels are partial and slow); use fp32 or bf16 here.");
        bool full = settings.Size == "sd15";
        var unet = full ? UNetConfig.Sd15 : TinySd1.UnetConfig(64);
        // The matmul rate of the dtype the step computes in, read around each timed step (see TrainStep).
        var step = ModelBenchmark.TrainStep(unet, 64, dtype, settings.Runs, settings.GradientCheckpointing, device: device,
            referenceGflops: () => ModelBenchmark.MatmulGflops(dtype: frozen.Compute, device: device));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Size} train step ({setting}): {step.Seconds:0.00} s, step/matmul {step.Ratio:0.00}, peak RSS {step.PeakRssGb:0.0} GB" +
            $"   [{step.Gflop / step.Seconds:0.0} of {step.ReferenceGflops:0.0} GFLOP/s, the matmul read before and after the step; first step {step.FirstSeconds:0.00} s; {step.Modules} LoRA modules; {NumericsGuard.Current.Summary}]"));
        return 0;
    }

    internal static string Setting(string mixedPrecision, bool gradientCheckpointing) =>
        $"mixed_precision={mixedPrecision}, gradient_checkpointing={(gradientCheckpointing ? "true" : "false")}";
}
