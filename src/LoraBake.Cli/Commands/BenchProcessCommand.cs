using System.ComponentModel;
using System.Globalization;
using LoraBake.Data;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake bench process --count 200`: images per second of the Process stage's per-image work.</summary>
[Description("Benchmark image processing (decode, resize to bucket, crop, PNG) on generated 1024x768 JPEGs.")]
public sealed class BenchProcessCommand : Command<BenchProcessCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--count <N>")]
        [DefaultValue(200)]
        public int Count { get; init; } = 200;

        [CommandOption("--resolution <PX>")]
        [DefaultValue(512)]
        public int Resolution { get; init; } = 512;

        [CommandOption("--dir <DIR>")]
        [Description("Where the generated JPEGs are kept (reused when present). Default: a folder in the temp directory.")]
        public string? Dir { get; init; }

        [CommandOption("--threads <N>")]
        [Description("Worker threads; 0 = one per core.")]
        [DefaultValue(0)]
        public int Threads { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var dir = settings.Dir ?? Path.Combine(Path.GetTempPath(), "lorabake-bench-process");
        var files = ProcessBenchmark.GenerateJpegs(dir, settings.Count);
        var processing = new ImageProcessingSettings(BucketSet.Make(settings.Resolution, settings.Resolution > 640 ? 320 : 256,
            settings.Resolution > 640 ? 1280 : 1024, 64), new Rgb24(255, 255, 255), 100_000_000);
        var threads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        ProcessBenchmark.Run(files.Take(Math.Min(8, files.Count)).ToList(), processing, threads); // warm-up (JIT)
        var r = ProcessBenchmark.Run(files, processing, threads);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"process: {r.Images} images in {r.Seconds:0.00} s with {r.Threads} threads = {r.ImagesPerSecond:0.0} images/s ({r.OutputBytes / r.Images / 1024} KiB PNG each); files in {dir}"));
        return 0;
    }
}
