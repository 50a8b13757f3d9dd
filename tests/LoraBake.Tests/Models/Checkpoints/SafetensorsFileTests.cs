using System.Text;
using LoraBake.Models.Checkpoints;
using LoraBake.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Checkpoints;

public class SafetensorsFileTests
{
    static Dictionary<string, Tensor> AllDTypes()
    {
        var g = new Generator(1);
        using var f = randn(new long[] { 3, 5 }, generator: g);
        return new Dictionary<string, Tensor>
        {
            ["f64"] = f.to_type(ScalarType.Float64),
            ["f32"] = f.clone(),
            ["f16"] = f.to_type(ScalarType.Float16),
            ["bf16"] = f.to_type(ScalarType.BFloat16),
            ["i64"] = tensor(new long[] { long.MinValue, -1, 0, long.MaxValue }),
            ["i32"] = tensor(new int[] { int.MinValue, 7, int.MaxValue }),
            ["i16"] = tensor(new short[] { -3, 4 }),
            ["i8"] = tensor(new sbyte[] { -128, 127, 5 }),
            ["u8"] = tensor(new byte[] { 0, 255, 9 }),
            ["bool"] = tensor(new[] { true, false, true }),
            ["scalar"] = tensor(2.5f),
            ["empty"] = zeros(0, 4),
        };
    }

    [Fact]
    public void Round_trip_keeps_every_dtype_shape_value_and_the_metadata()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var src = AllDTypes();
        var meta = new Dictionary<string, string> { ["ss_network_dim"] = "4", ["ss_tag_frequency"] = "{\"dataset\": {\"café 1girl\": 3}}" };
        var path = tmp.File("all.safetensors");
        SafetensorsWriter.Save(path, src, meta);

        var file = SafetensorsFile.Open(path);
        Assert.Equal(meta, file.Metadata);
        Assert.Equal(src.Keys.OrderBy(k => k), file.Keys.OrderBy(k => k));
        Assert.Equal("I8", file["i8"].DType);
        Assert.Equal(new long[] { 3, 5 }, file["bf16"].Shape);
        var loaded = file.Load();
        foreach (var (k, t) in src)
        {
            Assert.Equal(t.dtype, loaded[k].dtype);
            Assert.Equal(t.shape, loaded[k].shape);
            Assert.Equal(t.bytes.ToArray(), loaded[k].bytes.ToArray());
        }
        // Every tensor starts at a multiple of its element size, which the dtype-size ordering guarantees.
        foreach (var e in file.Entries) Assert.Equal(0, (file.DataStart + e.Begin) % Math.Max(1, SafetensorsDType.SizeOf(e.DType)));
        Assert.Equal(0, file.DataStart % 8);
        foreach (var t in src.Values.Concat(loaded.Values)) t.Dispose();
    }

    [Fact]
    public void Header_is_padded_with_spaces_and_metadata_comes_first()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var path = tmp.File("h.safetensors");
        using var a = ones(3);
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["a"] = a }, new Dictionary<string, string> { ["k"] = "v" });
        var bytes = File.ReadAllBytes(path);
        var n = (int)BitConverter.ToUInt64(bytes, 0);
        var header = Encoding.UTF8.GetString(bytes, 8, n);
        Assert.Equal(0, n % 8);
        Assert.StartsWith("{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", header);
        Assert.InRange(n - header.TrimEnd(' ').Length, 0, 7);
        Assert.EndsWith("}", header.TrimEnd(' '));
        Assert.Equal(8 + n + 12, bytes.Length);
    }

    [Fact]
    public void Rewriting_a_python_written_file_reproduces_it_byte_for_byte()
    {
        // The reference wrote this file with safetensors.torch.save_file(..., metadata={"format": "pt"}).
        var reference = GoldensFolder.File("tiny_a", "diffusers", "vae", "diffusion_pytorch_model.safetensors");
        var file = SafetensorsFile.Open(reference);
        Assert.Equal("pt", file.Metadata["format"]);
        var tensors = file.Load();
        using var ms = new MemoryStream();
        SafetensorsWriter.Write(ms, tensors, file.Metadata);
        Assert.Equal(File.ReadAllBytes(reference), ms.ToArray());
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void Reads_the_goldens_header_metadata_and_python_written_values()
    {
        var ldm = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        Assert.Equal(600, ldm.Entries.Count);
        Assert.Empty(ldm.Metadata);
        Assert.Equal(new long[] { 16, 16, 1, 1 }, ldm["first_stage_model.encoder.mid.attn_1.q.weight"].Shape);

        var loha = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "lora", "loha.safetensors"));
        Assert.Equal("lycoris.kohya", loha.Metadata["ss_network_module"]);

        // "a photo of a cat" through the real CLIP tokenizer: BOS, a, photo, of, a, cat, EOS, then EOS padding.
        var te = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "text_encoder.safetensors"));
        Assert.Equal("I64", te["input_ids"].DType);
        using var ids = te.Load("input_ids");
        Assert.Equal(new long[] { 49406, 320, 1125, 539, 320, 2368, 49407, 49407 }, ids[0].narrow(0, 0, 8).data<long>().ToArray());
    }

    [Fact]
    public void Loads_selected_tensors_converted_to_a_dtype()
    {
        var file = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        const string key = "first_stage_model.quant_conv.weight";
        using var f32 = file.Load(key);
        var loaded = file.Load(new[] { key }, ScalarType.BFloat16);
        Assert.Single(loaded);
        using var bf = loaded[key];
        Assert.Equal(ScalarType.BFloat16, bf.dtype);
        using var back = bf.to_type(ScalarType.Float32);
        Assert.True(back.allclose(f32, rtol: 1e-2, atol: 1e-3));
        Assert.Throws<UserError>(() => file.Load("no.such.key"));
    }

    [Fact]
    public void Overwriting_a_larger_file_leaves_no_stale_bytes()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var path = tmp.File("o.safetensors");
        using var big = ones(1000);
        using var small = ones(2);
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = big });
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = small });
        var file = SafetensorsFile.Open(path);
        Assert.Equal(file.DataStart + 8, new FileInfo(path).Length);
        Assert.Single(Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void Corrupt_files_are_user_errors_naming_the_file()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var bad = tmp.File("bad.safetensors");
        File.WriteAllBytes(bad, new byte[] { 200, 0, 0, 0, 0, 0, 0, 0, (byte)'{' });
        var e = Assert.Throws<UserError>(() => SafetensorsFile.Open(bad));
        Assert.Contains(bad, e.Message);

        // A truncated data section: header promises 12 bytes, the file has 4.
        var trunc = tmp.File("trunc.safetensors");
        using var a = ones(3);
        SafetensorsWriter.Save(trunc, new Dictionary<string, Tensor> { ["a"] = a });
        var bytes = File.ReadAllBytes(trunc);
        File.WriteAllBytes(trunc, bytes[..^8]);
        Assert.Throws<UserError>(() => SafetensorsFile.Open(trunc));
    }

    [Theory]
    [InlineData("[0,4]", "[2,6]", 6, "overlaps tensor 'a'")]
    [InlineData("[0,4]", "[0,4]", 4, "overlaps tensor 'a'")]
    [InlineData("[0,4]", "[6,10]", 10, "leaving bytes 4–6 that no tensor owns")]
    [InlineData("[0,4]", "[4,8]", 12, "the tensors cover 8 bytes of the 12-byte data section")]
    public void Overlapping_or_gapped_data_offsets_are_refused(string a, string b, int dataBytes, string expected)
    {
        using var dir = new TempFolder("lorabake-offsets-");
        var path = dir.File("offsets.safetensors");
        var header = Encoding.UTF8.GetBytes($"{{\"a\":{{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":{a}}},\"b\":{{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":{b}}}}}");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[dataBytes]]);
        var e = Assert.Throws<UserError>(() => SafetensorsFile.Open(path));
        Assert.StartsWith(path + ": not a valid safetensors file: ", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
