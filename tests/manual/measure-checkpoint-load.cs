#:project ../../src/LoraBake.Cli/LoraBake.Cli.csproj
#:property PublishAot=false
// Measures Sd1Checkpoint.Open on a full-size SD 1.5 single-file checkpoint (random fp16 weights, original key
// layout) loaded into fp32: wall time and peak RSS (VmHWM). Run each phase in its own process:
//   dotnet run -c Release tests/manual/measure-checkpoint-load.cs -- generate /tmp/sd15_random_fp16.safetensors
//   dotnet run -c Release tests/manual/measure-checkpoint-load.cs -- load /tmp/sd15_random_fp16.safetensors [native]
using System.Diagnostics;
using LoraBake.Models.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

var (mode, path) = (args[0], args[1]);
if (mode == "generate")
{
    var shapes = Sd15ReferenceShapes.Sd15();
    var g = new Generator(0);
    var tensors = shapes.ToDictionary(kv => kv.Key, kv => (randn(kv.Value, generator: g) * 0.02).to_type(ScalarType.Float16));
    Console.WriteLine($"{tensors.Count} tensors, {shapes.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)):N0} values");
    foreach (var prefix in new[] { "model.diffusion_model.", "cond_stage_model.", "first_stage_model." })
        Console.WriteLine($"  {prefix} {shapes.Where(kv => kv.Key.StartsWith(prefix)).Sum(kv => kv.Value.Aggregate(1L, (a, b) => a * b)):N0}");
    var sw = Stopwatch.StartNew();
    SafetensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["note"] = "random weights, SD 1.5 shapes" });
    Console.WriteLine($"wrote {new FileInfo(path).Length / 1e9:0.000} GB in {sw.Elapsed.TotalSeconds:0.0} s");
}
else
{
    Console.WriteLine($"baseline: VmRSS {Status("VmRSS")}, VmHWM {Status("VmHWM")}");
    var sw = Stopwatch.StartNew();
    // Optional third argument "native": keep the file's fp16 (separates reading from the fp16 → fp32 conversion).
    ScalarType? dtype = args.Length > 2 && args[2] == "native" ? null : ScalarType.Float32;
    using var ckpt = Sd1Checkpoint.Open(path, dtype: dtype);
    var t = sw.Elapsed.TotalSeconds;
    long Count(Dictionary<string, Tensor> d) => d.Values.Sum(x => x.numel());
    Console.WriteLine($"Sd1Checkpoint.Open(fp16 file → {ckpt.DType}): {t:0.00} s; UNet {Count(ckpt.UnetStateDict):N0}, text {Count(ckpt.TextStateDict):N0}, VAE {Count(ckpt.VaeStateDict):N0} parameters");
    var held = (Count(ckpt.UnetStateDict) + Count(ckpt.TextStateDict) + Count(ckpt.VaeStateDict)) * (dtype is null ? 2 : 4);
    Console.WriteLine($"tensors held: {held / 1e9:0.000} GB; after load: VmRSS {Status("VmRSS")}, peak VmHWM {Status("VmHWM")}");
}

static string Status(string field) =>
    File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":"))[(field.Length + 1)..].Trim();
