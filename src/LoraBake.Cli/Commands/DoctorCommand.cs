using System.ComponentModel;
using LoraBake.Numerics;
using LoraBake.Training;
using LoraBake.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake doctor`: can this machine run LoraBake? Torch version, threads, the native-library fix.</summary>
[Description("Report the torch runtime: version, threads, CUDA, the GLIBCXX fix, and the numerics self-test with the route it chose.")]
public sealed class DoctorCommand : Command<DoctorCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--json")]
        [Description("Print the report as JSON.")]
        public bool Json { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("Say where this device setting (auto, cpu, cuda, cuda:N) would run models here; default auto.")]
        public string Device { get; init; } = ComputeDevice.Auto;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var r = TorchRuntime.Describe();
        var guard = NumericsGuard.Current;
        if (settings.Json)
        {
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                runtime = r,
                native_heap = new { applied = LoraBake.Runtime.NativeHeap.Applied, state = LoraBake.Runtime.NativeHeap.State },
                device = new
                {
                    setting = settings.Device,
                    resolved = ComputeDevice.Problem(settings.Device) is null ? ComputeDevice.Resolve(settings.Device) : null,
                    cuda_available = r.CudaAvailable,
                    backend = ComputeDevice.Backend,
                    error = DeviceError(settings.Device),
                },
                numerics = new
                {
                    route = ConvRoutes.Name(guard.Route),
                    forced = guard.Forced,
                    bf16_usable = guard.Bf16Usable,
                    self_test_ms = guard.SelfTest?.Milliseconds,
                    route_timing_ms = guard.RouteTiming is { } t ? new { onednn = t.OneDnnSeconds * 1000, unfold = t.UnfoldSeconds * 1000, from_cache = t.FromCache } : null,
                    checks = guard.SelfTest?.Checks,
                    summary = guard.Summary,
                },
            }, CliJson.Options));
            return 0;
        }
        var table = new Table().AddColumn("check").AddColumn("value");
        table.AddRow("torch (LibTorch)", r.TorchVersion);
        table.AddRow("threads / interop threads", $"{r.Threads} / {r.InteropThreads}");
        table.AddRow("native heap (LibTorch's freed memory)", Markup.Escape(LoraBake.Runtime.NativeHeap.State));
        table.AddRow("CUDA available", Markup.Escape(r.CudaAvailable ? $"yes ({ComputeDevice.Backend})" : $"no: {ComputeDevice.Backend}"));
        table.AddRow("device that will run models", Markup.Escape(ComputeDevice.Describe(settings.Device, $"device {(settings.Device == ComputeDevice.Auto ? "(training.device default)" : "--device")}")
            + (DeviceError(settings.Device) is { } error ? $"; would fail: {error}" : "")));
        table.AddRow("libLibTorchSharp.so", Markup.Escape(r.NativeLibraryPath ?? "(not found)"));
        table.AddRow("system libstdc++ has GLIBCXX_3.4.32", r.SystemHasGlibcxx ? "yes (no fix needed)" : "no");
        table.AddRow("GLIBCXX_3.4.32 requirement weakened", r.GlibcxxRequirementWeak switch
        {
            true => "yes (fix applied by the build)",
            false => "no",
            null => "not required by this library",
        });
        table.AddRow("oneDNN switch (at::Context)", OneDnnSwitch.Available ? (OneDnnSwitch.Enabled ? "available, on" : "available, off") : "not exported by this LibTorch");
        foreach (var check in guard.SelfTest?.Checks ?? [])
            table.AddRow(Markup.Escape(check.Name), (check.Passed ? "[green]pass[/]: " : "[red]FAIL[/]: ") + Markup.Escape(check.Evidence));
        if (guard.SelfTest is null) table.AddRow("numerics self-test", "not run (route forced)");
        table.AddRow("convolution route", Markup.Escape(ConvRoutes.Name(guard.Route) + (guard.Forced ? $" (forced by {guard.ForcedBy})"
            : guard.RouteTiming is { } timing ? $" (both right here; the faster: {timing.Summary})" : " (the one the self-test found right)")));
        table.AddRow("bfloat16", guard.Bf16Usable ? "usable" : "refused: wrong results on this CPU");
        table.AddRow("mixed_precision: auto", Markup.Escape(AutoPrecision.Current.Summary));
        AnsiConsole.Write(table);
        AnsiConsole.WriteLine(guard.Summary);
        return 0;
    }

    /// <summary>The error a stage would stop with for this device setting here; null when it would run.</summary>
    static string? DeviceError(string device)
    {
        try { ComputeDevice.Select(device, "--device"); return null; }
        catch (UserError e) { return e.Message; }
    }
}
