using System.ComponentModel;
using LoraBake.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake doctor`: can this machine run LoraBake? Torch version, threads, the native-library fix.</summary>
[Description("Report the torch runtime: version, threads, CUDA, and whether the GLIBCXX fix was applied.")]
public sealed class DoctorCommand : Command<DoctorCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--json")]
        [Description("Print the report as JSON.")]
        public bool Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var r = TorchRuntime.Describe();
        if (settings.Json)
        {
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(r, CliJson.Options));
            return 0;
        }
        var table = new Table().AddColumn("check").AddColumn("value");
        table.AddRow("torch (LibTorch)", r.TorchVersion);
        table.AddRow("threads / interop threads", $"{r.Threads} / {r.InteropThreads}");
        table.AddRow("CUDA available", r.CudaAvailable ? "yes" : "no");
        table.AddRow("libLibTorchSharp.so", Markup.Escape(r.NativeLibraryPath ?? "(not found)"));
        table.AddRow("system libstdc++ has GLIBCXX_3.4.32", r.SystemHasGlibcxx ? "yes (no fix needed)" : "no");
        table.AddRow("GLIBCXX_3.4.32 requirement weakened", r.GlibcxxRequirementWeak switch
        {
            true => "yes (fix applied by the build)",
            false => "no",
            null => "not required by this library",
        });
        AnsiConsole.Write(table);
        return 0;
    }
}
