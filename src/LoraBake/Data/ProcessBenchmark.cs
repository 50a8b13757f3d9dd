using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Data;

/// <summary>The result of one benchmark run: images, seconds, and the rate.</summary>
public sealed record ProcessBenchmarkResult(int Images, int Threads, double Seconds, long OutputBytes)
{
    public double ImagesPerSecond => Images / Seconds;
}

/// <summary>
/// A by-hand benchmark of per-image processing (decode → orient → flatten → resize → crop → PNG), the work the
/// Process stage does on a cache miss, without the store. `lorabake bench process` runs it; build/bench/
/// has the same work done by Pillow for comparison.
/// </summary>
public static class ProcessBenchmark
{
    /// <summary>Writes <paramref name="count"/> deterministic width×height JPEGs (gradients, shapes and noise, so they
    /// compress like photos rather than flat art) unless they are already there; returns their paths.</summary>
    public static IReadOnlyList<string> GenerateJpegs(string dir, int count, int width = 1024, int height = 768)
    {
        Directory.CreateDirectory(dir);
        var paths = Enumerable.Range(0, count).Select(i => Path.Combine(dir, $"bench_{i:D4}.jpg")).ToList();
        Parallel.For(0, count, i =>
        {
            if (File.Exists(paths[i])) return;
            var rng = new DeterministicRng(20261129, i);
            var pixels = new Rgb24[width * height];
            int cx = rng.NextInt(width), cy = rng.NextInt(height), r = 80 + rng.NextInt(200);
            byte br = (byte)rng.NextInt(256), bg = (byte)rng.NextInt(256), bb = (byte)rng.NextInt(256);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var noise = (int)(rng.NextUInt64() & 31) - 16;
                    var inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
                    int R = inside ? br : x * 255 / width, G = inside ? bg : y * 255 / height, B = inside ? bb : (x + y) * 255 / (width + height);
                    pixels[y * width + x] = new Rgb24((byte)Math.Clamp(R + noise, 0, 255), (byte)Math.Clamp(G + noise, 0, 255), (byte)Math.Clamp(B + noise, 0, 255));
                }
            using var img = Image.LoadPixelData<Rgb24>(pixels, width, height);
            var temp = paths[i] + ".tmp";
            img.SaveAsJpeg(temp, new JpegEncoder { Quality = 90 });
            File.Move(temp, paths[i], overwrite: true);
        });
        return paths;
    }

    /// <summary>Processes every file once with <paramref name="threads"/> workers and times it (file reads included).</summary>
    public static ProcessBenchmarkResult Run(IReadOnlyList<string> files, ImageProcessingSettings settings, int threads)
    {
        long bytes = 0;
        var sw = Stopwatch.StartNew();
        Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = threads }, f =>
        {
            var result = ImageProcessor.Process(File.ReadAllBytes(f), settings);
            if (result.Png is null) throw new InvalidOperationException($"{f}: {result.Meta.Rejected}");
            Interlocked.Add(ref bytes, result.Png.Length);
        });
        sw.Stop();
        return new ProcessBenchmarkResult(files.Count, threads, sw.Elapsed.TotalSeconds, bytes);
    }
}
