using System.Text;
using LoraBake.Sampling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

public class ImageOutputTests : IDisposable
{
    readonly TempFolder _dir = new("lorabake-png-");
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Decoded_tensor_becomes_bytes_as_diffusers_postprocess()
    {
        // (x/2 + 0.5).clamp(0,1)·255, rounded half-to-even: 0 → 127.5 → 128, 1/255 steps, clamping outside [−1, 1].
        float[] values = [-1.5f, -1f, 0f, 1f, 2f, 2f / 255 - 1, 0.5f];
        using var decoded = tensor(values.SelectMany(v => new[] { v, v, v }).ToArray()).reshape(1, 7, 1, 3).permute(0, 3, 2, 1).contiguous();
        Assert.Equal(new long[] { 1, 3, 1, 7 }, decoded.shape);
        using var bytes = ImageConversion.ToRgbBytes(decoded);
        Assert.Equal(new long[] { 1, 1, 7, 3 }, bytes.shape);
        var px = bytes.data<byte>().ToArray().Where((_, i) => i % 3 == 0).ToArray();
        Assert.Equal(new byte[] { 0, 0, 128, 255, 255, 1, 191 }, px);
    }

    [Fact]
    public void Decode_latents_unscales_by_the_vae_factor()
    {
        using var latents = full(new long[] { 1, 4, 1, 1 }, 0.18215f);
        Tensor? seen = null;
        using var decoded = ImageConversion.DecodeLatents(latents, l => { seen = l.clone(); return zeros(1, 3, 8, 8); });
        Assert.Equal(1f, seen!.max().item<float>(), 6);
        seen.Dispose();
    }

    [Fact]
    public void Png_carries_a_webui_parameters_text_chunk_that_parses_back()
    {
        var p = new GenerationParameters("masterpiece, 1girl, <lora:mychar-05:0.8>", "lowres, bad anatomy", 20, "Euler a", 7, 1, 512, 512,
            "6ce0161689", "v1-5-pruned-emaonly",
            [new("Lora hashes", "mychar-05: 1a2b3c4d5e6f"), new("Clip skip", "2")]);
        string infotext = p.ToInfotext();
        Assert.Equal("masterpiece, 1girl, <lora:mychar-05:0.8>\nNegative prompt: lowres, bad anatomy\n" +
                     "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 6ce0161689, " +
                     "Model: v1-5-pruned-emaonly, Lora hashes: \"mychar-05: 1a2b3c4d5e6f\", Clip skip: 2", infotext);

        using var decoded = rand(2, 3, 16, 24) * 2 - 1;
        var images = ImageConversion.ToImages(decoded);
        Assert.Equal(2, images.Length);
        string path = Path.Combine(_dir, "sample-0001.png");
        PngFile.Save(images[0], path, infotext);

        var bytes = File.ReadAllBytes(path);
        Assert.Contains("tEXtparameters\0", Encoding.Latin1.GetString(bytes));
        Assert.Equal(infotext, PngFile.ReadParameters(path));
        Assert.Equal(p with { Extra = null }, GenerationParameters.Parse(infotext)! with { Extra = null });
        Assert.Equal(p.Extra, GenerationParameters.Parse(infotext)!.Extra);
        using (var loaded = Image.Load<Rgb24>(path))
        {
            Assert.Equal(24, loaded.Width);
            Assert.Equal(16, loaded.Height);
            using var expected = ImageConversion.ToRgbBytes(decoded);
            Assert.Equal(expected[0, 5, 7, 1].item<byte>(), loaded[7, 5].G);
        }
        foreach (var im in images) im.Dispose();
    }

    [Fact]
    public void Long_and_unicode_infotext_stays_readable()
    {
        var p = new GenerationParameters(string.Join(", ", Enumerable.Repeat("very long prompt tag", 100)) + ", 猫", "", 30,
            "DPM++ 2M Karras", 7.5, 4294967295, 512, 768);
        string infotext = p.ToInfotext();
        Assert.DoesNotContain("Negative prompt", infotext);
        using var image = new Image<Rgb24>(8, 8);
        string path = Path.Combine(_dir, "long.png");
        PngFile.Save(image, path, infotext);
        Assert.Equal(infotext, PngFile.ReadParameters(path));
        Assert.Equal(p, GenerationParameters.Parse(infotext));
        Assert.DoesNotContain("zTXt", Encoding.Latin1.GetString(File.ReadAllBytes(path)));
    }

    [Fact]
    public void Writing_is_atomic_a_failed_write_leaves_the_old_file_and_no_temp()
    {
        string path = Path.Combine(_dir, "grid.png");
        using (var first = new Image<Rgb24>(4, 4)) PngFile.Save(first, path, "first\nSteps: 1, Sampler: Euler, CFG scale: 1, Seed: 1, Size: 4x4");
        var before = File.ReadAllBytes(path);

        Assert.Throws<IOException>(() => PngFile.AtomicWrite(path, s =>
        {
            s.Write(new byte[100]);
            throw new IOException("disk full");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir));

        using (var second = new Image<Rgb24>(6, 6)) PngFile.Save(second, path, null);
        Assert.Null(PngFile.ReadParameters(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir));
    }

    [Fact]
    public void Parse_returns_null_for_text_without_a_parameter_line()
    {
        Assert.Null(GenerationParameters.Parse("just a prompt"));
    }
}
