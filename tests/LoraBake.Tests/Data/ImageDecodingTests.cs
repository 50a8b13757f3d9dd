using LoraBake.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using static LoraBake.Tests.Data.DataTestFiles;

namespace LoraBake.Tests.Data;

public class ImageDecodingTests
{
    private static readonly Rgba32 Red = new(220, 30, 30, 255);
    private static readonly Rgba32 Blue = new(30, 30, 220, 255);
    private static readonly Rgb24 White = new(255, 255, 255);

    private static void AssertNear(Rgb24 expected, Rgb24 actual, int tol = 12)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= tol && Math.Abs(expected.G - actual.G) <= tol && Math.Abs(expected.B - actual.B) <= tol,
            $"expected ≈{expected}, got {actual}");
    }

    [Fact]
    public void Exif_orientation_6_is_applied_and_reported()
    {
        using var src = Halves(64, 32, Red, Blue); // red left, blue right, landscape as stored
        var bytes = Jpeg(src, orientation: 6);     // 6 = rotate 90° clockwise to display
        var header = ImageDecoding.Identify(bytes, 1_000_000);
        Assert.Equal((32, 64), (header.Width, header.Height));
        using var img = ImageDecoding.DecodeRgb(bytes, White, 1_000_000);
        Assert.Equal((32, 64), (img.Width, img.Height));
        // Rotating clockwise puts the stored left (red) on top.
        AssertNear(new Rgb24(220, 30, 30), img[16, 8]);
        AssertNear(new Rgb24(30, 30, 220), img[16, 56]);
    }

    [Fact]
    public void Alpha_is_flattened_onto_the_background()
    {
        using var src = Halves(8, 8, new Rgba32(0, 0, 0, 0), new Rgba32(255, 0, 0, 128));
        var bytes = Png(src, PngColorType.RgbWithAlpha);
        using var onWhite = ImageDecoding.DecodeRgb(bytes, White, 1_000_000);
        Assert.Equal(new Rgb24(255, 255, 255), onWhite[1, 1]);
        Assert.Equal(new Rgb24(255, 127, 127), onWhite[6, 1]); // 255·128/255 + 255·127/255 = 255; 0 + 127
        using var onHex = ImageDecoding.DecodeRgb(bytes, BackgroundColor.Parse("#102030"), 1_000_000);
        Assert.Equal(new Rgb24(0x10, 0x20, 0x30), onHex[1, 1]);
    }

    [Fact]
    public void Cmyk_gray_palette_16bit_webp_bmp_become_8bit_rgb()
    {
        using (var cmyk = ImageDecoding.DecodeRgb(CmykJpeg, White, 1_000_000))
        {
            Assert.Equal((24, 16), (cmyk.Width, cmyk.Height));
            AssertNear(new Rgb24(220, 30, 30), cmyk[2, 8], 16);
            AssertNear(new Rgb24(30, 30, 220), cmyk[21, 8], 16);
        }
        using var halves = Halves(16, 8, Red, Blue);
        using (var gray = ImageDecoding.DecodeRgb(Png(halves, PngColorType.Grayscale), White, 1_000_000))
            Assert.True(gray[2, 2].R == gray[2, 2].G && gray[2, 2].G == gray[2, 2].B);
        using (var pal = ImageDecoding.DecodeRgb(Png(halves, PngColorType.Palette), White, 1_000_000))
            AssertNear(new Rgb24(220, 30, 30), pal[2, 2], 2);
        using (var deep = ImageDecoding.DecodeRgb(Png(halves, PngColorType.Rgb, PngBitDepth.Bit16), White, 1_000_000))
            Assert.Equal(new Rgb24(220, 30, 30), deep[2, 2]);
        using (var webp = ImageDecoding.DecodeRgb(Webp(halves), White, 1_000_000))
            Assert.Equal(new Rgb24(30, 30, 220), webp[12, 2]);
        using (var bmp = ImageDecoding.DecodeRgb(Bmp(halves), White, 1_000_000))
            Assert.Equal(new Rgb24(220, 30, 30), bmp[2, 2]);
    }

    [Fact]
    public void Decompression_bomb_is_refused_without_allocating()
    {
        var bomb = PngBomb();
        Assert.True(bomb.Length < 4096);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ImageRejectedException>(() => ImageDecoding.DecodeRgb(bomb, White, 100_000_000));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("60000x60000", e.Reason);
        Assert.True(allocated < 8 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Broken_files_are_rejected_with_a_reason()
    {
        using var halves = Halves(64, 64, Red, Blue);
        var png = Png(halves);
        Assert.Contains("empty", Assert.Throws<ImageRejectedException>(() => ImageDecoding.DecodeRgb([], White, 1 << 20)).Reason);
        Assert.Contains("not an image", Assert.Throws<ImageRejectedException>(() => ImageDecoding.DecodeRgb("hello, I am text"u8.ToArray(), White, 1 << 20)).Reason);
        // ImageSharp itself decodes cut-off JPEG, BMP and WebP files without complaint; each must still be refused.
        foreach (var (name, whole) in new[] { ("PNG", png), ("JPEG", Jpeg(halves)), ("BMP", Bmp(halves)), ("Webp", Webp(halves)) })
        {
            using (ImageDecoding.DecodeRgb(whole, White, 1 << 20)) { }
            var cut = whole[..^10]; // cut inside the pixel data (a cut inside the header is refused too, as unreadable)
            var e = Assert.Throws<ImageRejectedException>(() => ImageDecoding.DecodeRgb(cut, White, 1 << 20));
            Assert.StartsWith($"truncated {name}", e.Reason);
        }
    }

    [Fact]
    public void Background_names_and_errors()
    {
        Assert.Equal(new Rgb24(0, 0, 0), BackgroundColor.Parse("Black"));
        Assert.Equal("#FF8000", BackgroundColor.Canonical(BackgroundColor.Parse("#ff8000")));
        var e = Assert.Throws<LoraBake.Runtime.UserError>(() => BackgroundColor.Parse("pinkish"));
        Assert.Contains("dataset.background", e.Message);
    }

    [Fact]
    public void Processing_downscales_with_box_and_crops_to_the_bucket()
    {
        using var src = Halves(1024, 768, Red, Blue);
        var settings = new ImageProcessingSettings(BucketSet.Make(512, 256, 1024, 64), White, 10_000_000);
        var result = ImageProcessor.Process(Png(src), settings);
        Assert.Null(result.Meta.Rejected);
        Assert.Equal([576, 448], result.Meta.Bucket);
        Assert.Equal([10, 0, 586, 448], result.Meta.CropLtrb);
        using var outImg = Image.Load<Rgb24>(result.Png!);
        Assert.Equal((576, 448), (outImg.Width, outImg.Height));
        Assert.Equal(new Rgb24(220, 30, 30), outImg[5, 100]);
        Assert.Equal(new Rgb24(30, 30, 220), outImg[570, 100]);
        // Deterministic bytes.
        Assert.Equal(result.Png, ImageProcessor.Process(Png(src), settings).Png);
    }

    [Fact]
    public void Box_downscale_by_an_integer_ratio_is_the_block_average()
    {
        // cv2.INTER_AREA for a 2× shrink averages each 2×2 block; the Box kernel must do the same.
        using var src = new Image<Rgb24>(8, 4);
        for (var y = 0; y < 4; y++)
            for (var x = 0; x < 8; x++) src[x, y] = new Rgb24((byte)(x * 30 + y * 4), (byte)(y * 60), (byte)(x * y * 8));
        using var img = src.Clone();
        BucketResize.Apply(img, new BucketAssignment(new Size2(4, 2), new Size2(4, 2), 0, 0));
        for (var y = 0; y < 2; y++)
            for (var x = 0; x < 4; x++)
            {
                var block = new[] { src[2 * x, 2 * y], src[2 * x + 1, 2 * y], src[2 * x, 2 * y + 1], src[2 * x + 1, 2 * y + 1] };
                var mean = new Rgb24((byte)Math.Round(block.Average(p => p.R)), (byte)Math.Round(block.Average(p => p.G)), (byte)Math.Round(block.Average(p => p.B)));
                AssertNear(mean, img[x, y], 1);
            }
    }

    [Fact]
    public void Kernel_choice_follows_kohya()
    {
        Assert.Same(SixLabors.ImageSharp.Processing.KnownResamplers.Box, BucketResize.KernelFor(1024, 768, new Size2(597, 448)));
        Assert.Same(SixLabors.ImageSharp.Processing.KnownResamplers.Lanczos3, BucketResize.KernelFor(300, 300, new Size2(512, 512)));
        Assert.Same(SixLabors.ImageSharp.Processing.KnownResamplers.Lanczos3, BucketResize.KernelFor(1200, 300, new Size2(1024, 256 + 64)));
    }
}
