using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using LoraBake.Models.Checkpoints;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LoraBake.Pipeline;

/// <summary>
/// A small, exact-structure, approximate-values summary of an output whose numbers come from float kernels
/// (an epoch's tensors, a rendered image, a loss log), recorded in lorabake.lock beside its hash. Two files
/// can then be compared within a tolerance when only one of them is at hand: the lock holds the other's sketch.
///
/// The values become one vector v (tensors in name order; pixels; the numbers of a text file in order). The
/// sketch keeps its length, its L2 norm and 16 random ±1 projections P·v, the signs drawn from a hash of the
/// element index. P is linear, so P·a − P·b = P·(a − b), and E‖P·d‖² = 16‖d‖²: the relative difference
/// ‖a − b‖/‖b‖ is estimated as ‖P·a − P·b‖ / (4‖b‖), to within tens of percent, never mistaking a large
/// change for a small one by more than that. The structure (tensor names, shapes and dtypes; image size;
/// the text with its numbers blanked) must match exactly.
/// </summary>
public sealed record OutputSketch(string Kind, string Structure, long Count, double Norm, double[] Projection)
{
    public const int Dimensions = 16;

    /// <summary>The kinds this version computes; a lock's sketch of another kind is computed again.</summary>
    public static readonly IReadOnlySet<string> Kinds = new HashSet<string> { "tensors", "pixels", "text-numbers" };

    /// <summary>The sketch of a file, or null for kinds whose bytes are compared only as bytes.</summary>
    public static OutputSketch? Compute(string path)
    {
        var ext = System.IO.Path.GetExtension(path).ToLowerInvariant();
        return ext switch
        {
            ".safetensors" => Tensors(path),
            ".png" => Pixels(path),
            ".csv" or ".json" or ".html" => Numbers(path),
            _ => null,
        };
    }

    static OutputSketch Tensors(string path)
    {
        var file = SafetensorsFile.Open(path);
        var builder = new Builder();
        var structure = new StringBuilder();
        foreach (var entry in file.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            structure.Append(entry.Name).Append(':').Append(entry.DType).Append('[').Append(string.Join(',', entry.Shape)).Append("];");
            using var t = file.Load(entry.Name, ScalarType.Float64);
            builder.AddRange(t.data<double>().ToArray());
        }
        return builder.Build("tensors", structure.ToString());
    }

    static OutputSketch Pixels(string path)
    {
        using var image = Image.Load<Rgba32>(path);
        var builder = new Builder();
        var pixels = new Rgba32[image.Width * image.Height];
        image.CopyPixelDataTo(pixels);
        foreach (var p in pixels) { builder.Add(p.R); builder.Add(p.G); builder.Add(p.B); builder.Add(p.A); }
        return builder.Build("pixels", $"{image.Width}x{image.Height}");
    }

    // Numbers in text. Left out: data: URIs (embedded images, compared as the PNG outputs they come from) and
    // hex digests (content addresses of other outputs, which are compared themselves).
    static readonly Regex Digest = new(@"\b(?=[0-9a-f]*[a-f])[0-9a-f]{32,}\b", RegexOptions.CultureInvariant | RegexOptions.Compiled);
    static readonly Regex Number = new(@"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", RegexOptions.CultureInvariant | RegexOptions.Compiled);
    static readonly Regex DataUri = new(@"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+", RegexOptions.CultureInvariant | RegexOptions.Compiled);

    static OutputSketch Numbers(string path)
    {
        var text = Digest.Replace(DataUri.Replace(File.ReadAllText(path), "data:"), "<digest>");
        var builder = new Builder();
        var blanked = Number.Replace(text, m =>
        {
            builder.Add(double.Parse(m.Value, NumberStyles.Float, CultureInfo.InvariantCulture));
            return "#";
        });
        return builder.Build("text-numbers", blanked);
    }

    /// <summary>
    /// Estimated ‖actual − expected‖ / ‖expected‖ (the larger of the projection estimate and the difference of
    /// norms); +∞ when the two are not of the same kind and structure.
    /// </summary>
    public static double RelativeDifference(OutputSketch expected, OutputSketch actual)
    {
        if (expected.Kind != actual.Kind || expected.Structure != actual.Structure || expected.Count != actual.Count) return double.PositiveInfinity;
        double scale = Math.Max(expected.Norm, 1e-30), sq = 0;
        for (int k = 0; k < Dimensions; k++) sq += Math.Pow(actual.Projection[k] - expected.Projection[k], 2);
        double projected = Math.Sqrt(sq / Dimensions) / scale;
        double norms = Math.Abs(actual.Norm - expected.Norm) / scale;
        return Math.Max(projected, norms);
    }

    /// <summary>One line for the lock: kind, structure hash, count, norm, projections (round-trip precision).</summary>
    public string ToText() => string.Join(' ', new[] { Kind, Structure, Count.ToString(CultureInfo.InvariantCulture), Format(Norm) }
        .Concat(Projection.Select(Format)));

    public static OutputSketch Parse(string text)
    {
        var parts = text.Split(' ');
        if (parts.Length != 4 + Dimensions) throw new FormatException($"not an output sketch: '{text}'");
        return new OutputSketch(parts[0], parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture),
            parts.Skip(4).Select(p => double.Parse(p, CultureInfo.InvariantCulture)).ToArray());
    }

    static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    sealed class Builder
    {
        readonly double[] _projection = new double[Dimensions];
        double _sumSquares;
        long _count;

        public void Add(double v)
        {
            ulong h = SplitMix64((ulong)_count++);
            for (int k = 0; k < Dimensions; k++) _projection[k] += ((h >> k) & 1) == 1 ? v : -v;
            _sumSquares += v * v;
        }

        public void AddRange(double[] values)
        {
            foreach (var v in values) Add(v);
        }

        public OutputSketch Build(string kind, string structure) =>
            new(kind, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(structure)))[..16], _count, Math.Sqrt(_sumSquares), _projection);

        static ulong SplitMix64(ulong x)
        {
            x += 0x9E3779B97F4A7C15UL;
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }
}
