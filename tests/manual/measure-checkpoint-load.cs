#:project ../../src/LoraBake.Cli/LoraBake.Cli.csproj
#:property PublishAot=false
// Measures Sd1Checkpoint.Open on a full-size SD 1.5 single-file checkpoint (random fp16 weights, original key
// layout) loaded into fp32: wall time and peak RSS (VmHWM). Run each phase in its own process:
//   dotnet run -c Release tests/manual/measure-checkpoint-load.cs -- generate /tmp/sd15_random_fp16.safetensors
//   dotnet run -c Release tests/manual/measure-checkpoint-load.cs -- load /tmp/sd15_random_fp16.safetensors [native]
using System.Diagnostics;
using LoraBake.Models.Checkpoints;
using LoraBake.Models.Vae;
using TorchSharp;
using static TorchSharp.torch;

var (mode, path) = (args[0], args[1]);
if (mode == "generate")
{
    var shapes = Sd15LdmShapes();
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

static Dictionary<string, long[]> Sd15LdmShapes()
{
    var s = new Dictionary<string, long[]>();
    void W(string k, params long[] shape) => s[k] = shape;
    const long emb = 1280, ctx = 768;
    var u = "model.diffusion_model.";
    void Res(string p, long cin, long cout)
    {
        W(p + "in_layers.0.weight", cin); W(p + "in_layers.0.bias", cin);
        W(p + "in_layers.2.weight", cout, cin, 3, 3); W(p + "in_layers.2.bias", cout);
        W(p + "emb_layers.1.weight", cout, emb); W(p + "emb_layers.1.bias", cout);
        W(p + "out_layers.0.weight", cout); W(p + "out_layers.0.bias", cout);
        W(p + "out_layers.3.weight", cout, cout, 3, 3); W(p + "out_layers.3.bias", cout);
        if (cin != cout) { W(p + "skip_connection.weight", cout, cin, 1, 1); W(p + "skip_connection.bias", cout); }
    }
    void Xf(string p, long c)
    {
        W(p + "norm.weight", c); W(p + "norm.bias", c);
        W(p + "proj_in.weight", c, c, 1, 1); W(p + "proj_in.bias", c);
        var b = p + "transformer_blocks.0.";
        foreach (var a in new[] { "attn1", "attn2" })
        {
            W($"{b}{a}.to_q.weight", c, c);
            W($"{b}{a}.to_k.weight", c, a == "attn1" ? c : ctx);
            W($"{b}{a}.to_v.weight", c, a == "attn1" ? c : ctx);
            W($"{b}{a}.to_out.0.weight", c, c); W($"{b}{a}.to_out.0.bias", c);
        }
        W(b + "ff.net.0.proj.weight", 8 * c, c); W(b + "ff.net.0.proj.bias", 8 * c);
        W(b + "ff.net.2.weight", c, 4 * c); W(b + "ff.net.2.bias", c);
        foreach (var n in new[] { "norm1", "norm2", "norm3" }) { W($"{b}{n}.weight", c); W($"{b}{n}.bias", c); }
        W(p + "proj_out.weight", c, c, 1, 1); W(p + "proj_out.bias", c);
    }
    W(u + "time_embed.0.weight", emb, 320); W(u + "time_embed.0.bias", emb);
    W(u + "time_embed.2.weight", emb, emb); W(u + "time_embed.2.bias", emb);
    W(u + "input_blocks.0.0.weight", 320, 4, 3, 3); W(u + "input_blocks.0.0.bias", 320);
    long[] mult = { 1, 2, 4, 4 };
    var chans = new Stack<long>(); chans.Push(320);
    long cur = 320; var idx = 1;
    for (var l = 0; l < 4; l++)
    {
        for (var j = 0; j < 2; j++, idx++)
        {
            Res($"{u}input_blocks.{idx}.0.", cur, 320 * mult[l]); cur = 320 * mult[l];
            if (l < 3) Xf($"{u}input_blocks.{idx}.1.", cur);
            chans.Push(cur);
        }
        if (l < 3) { W($"{u}input_blocks.{idx}.0.op.weight", cur, cur, 3, 3); W($"{u}input_blocks.{idx}.0.op.bias", cur); chans.Push(cur); idx++; }
    }
    Res(u + "middle_block.0.", cur, cur); Xf(u + "middle_block.1.", cur); Res(u + "middle_block.2.", cur, cur);
    idx = 0;
    for (var l = 3; l >= 0; l--)
        for (var j = 0; j < 3; j++, idx++)
        {
            var cout = 320 * mult[l];
            Res($"{u}output_blocks.{idx}.0.", cur + chans.Pop(), cout); cur = cout;
            if (l < 3) Xf($"{u}output_blocks.{idx}.1.", cur);
            if (l > 0 && j == 2) { var sub = l < 3 ? 2 : 1; W($"{u}output_blocks.{idx}.{sub}.conv.weight", cur, cur, 3, 3); W($"{u}output_blocks.{idx}.{sub}.conv.bias", cur); }
        }
    W(u + "out.0.weight", 320); W(u + "out.0.bias", 320); W(u + "out.2.weight", 4, 320, 3, 3); W(u + "out.2.bias", 4);

    var t = "cond_stage_model.transformer.text_model.";
    W(t + "embeddings.token_embedding.weight", 49408, 768); W(t + "embeddings.position_embedding.weight", 77, 768);
    for (var i = 0; i < 12; i++)
    {
        var p = $"{t}encoder.layers.{i}.";
        foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) { W($"{p}self_attn.{proj}.weight", 768, 768); W($"{p}self_attn.{proj}.bias", 768); }
        foreach (var n in new[] { "layer_norm1", "layer_norm2" }) { W($"{p}{n}.weight", 768); W($"{p}{n}.bias", 768); }
        W(p + "mlp.fc1.weight", 3072, 768); W(p + "mlp.fc1.bias", 3072); W(p + "mlp.fc2.weight", 768, 3072); W(p + "mlp.fc2.bias", 768);
    }
    W(t + "final_layer_norm.weight", 768); W(t + "final_layer_norm.bias", 768);

    using var vae = new AutoencoderKL(VaeConfig.Sd1, new Device(DeviceType.META));
    foreach (var (k, v) in VaeKeyMap.ToLdm(vae.state_dict(), "meta")) W("first_stage_model." + k, v.shape);
    return s;
}
