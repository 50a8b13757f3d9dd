using System.ComponentModel;
using System.Globalization;
using LoraBake.Models.Checkpoints;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake inspect FILE`: what a .safetensors / .ckpt is (SD 1.x checkpoint, another family, a LoRA-type network).</summary>
[Description("Tell what a .safetensors or .ckpt file is: SD 1.x checkpoint, another model family, or a LoRA/LoCon/LoHa network.")]
public sealed class InspectCommand : Command<InspectCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("The .safetensors or .ckpt file.")]
        public string File { get; init; } = "";

        [CommandOption("--json")]
        [Description("Print the report as JSON (all metadata included).")]
        public bool Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var r = WeightsInspector.Inspect(settings.File);
        if (settings.Json)
        {
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(r, CliJson.Options));
            return 0;
        }
        var table = new Table().AddColumn("").AddColumn("");
        table.HideHeaders();
        void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("file", r.Path);
        Row("format", $"{r.Format}, {Size(r.FileBytes)}");
        Row("what", $"{r.Description} (found {r.Evidence})");
        Row("tensors", $"{r.TensorCount:N0} ({string.Join(", ", r.DTypes.Select(kv => $"{kv.Key} {kv.Value}"))}), {r.Parameters:N0} values");
        if (r.Checkpoint is { } c)
        {
            Row("UNet", $"{c.UnetParameters:N0} parameters in {c.UnetKeys} tensors ({c.UnetDType})");
            Row("text encoder", $"{c.TextEncoderParameters:N0} parameters in {c.TextEncoderKeys} tensors");
            Row("VAE", c.VaeKeys == 0 ? "none (needs a separate `vae:`)" : $"{c.VaeParameters:N0} parameters in {c.VaeKeys} tensors");
            if (c.OtherKeys > 0) Row("other", $"{c.OtherKeys} tensors, {c.OtherParameters:N0} values (EMA copy, schedule buffers...; ignored)");
        }
        if (r.Network is { } n)
        {
            Row("base model", n.BaseModel);
            Row("modules", $"{n.Modules} ({n.TextEncoderModules} text encoder, {n.UnetModules} UNet; {n.ConvModules} k×k conv)");
            Row("dim (rank)", string.Join(", ", n.Dims));
            Row("alpha", n.Alphas.Count == 0 ? "(none stored: alpha = dim)" : string.Join(", ", n.Alphas.Select(a => a.ToString(CultureInfo.InvariantCulture))));
            foreach (var (k, v) in n.TrainingMetadata) Row(k, Truncate(v));
        }
        if (r.Network is null && r.Metadata.Count > 0)
            foreach (var (k, v) in r.Metadata.Take(20)) Row(k, Truncate(v));
        if (r.Metadata.Count > 0) Row("metadata keys", r.Metadata.Count.ToString(CultureInfo.InvariantCulture) + (r.Metadata.Count > 20 ? " (all with --json)" : ""));
        AnsiConsole.Write(table);
        return 0;
    }

    static string Truncate(string v) => v.Length <= 100 ? v : v[..97] + "...";

    static string Size(long b) => b >= 1 << 30 ? $"{b / (double)(1 << 30):0.00} GiB" : b >= 1 << 20 ? $"{b / (double)(1 << 20):0.0} MiB" : $"{b / 1024.0:0.0} KiB";
}
