using System.Security.Cryptography;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;

namespace LoraBake.Data;

/// <summary>
/// One source image → the bucketed RGB image training reads: header check, decode, orient, flatten alpha,
/// resize with kohya's kernel choice, centre crop, encode as lossless 8-bit RGB PNG without metadata
/// (so the bytes depend only on the pixels). Pure: no files, no cache — see <see cref="DatasetProcessor"/>.
/// </summary>
public static class ImageProcessor
{
    private static readonly PngEncoder Encoder = new()
    {
        ColorType = PngColorType.Rgb,
        BitDepth = PngBitDepth.Bit8,
        // Level 1 with adaptive filters: within ~2% of level 3's size at about half its time (measured on 576×448
        // photo-like images); this is a cache, not an archive.
        CompressionLevel = PngCompressionLevel.Level1,
        FilterMethod = PngFilterMethod.Adaptive,
        ChunkFilter = PngChunkFilter.ExcludeAll,
    };

    public static ProcessedImage Process(byte[] bytes, ImageProcessingSettings settings)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        try
        {
            var header = ImageDecoding.Identify(bytes, settings.MaxImagePixels);
            var assignment = Assign(settings.Buckets, header.Width, header.Height);
            using var image = ImageDecoding.DecodeRgb(bytes, settings.Background, settings.MaxImagePixels);
            BucketResize.Apply(image, assignment);
            using var png = new MemoryStream();
            image.Save(png, Encoder);
            var pngBytes = png.ToArray();
            var crop = assignment.CropLtrb;
            return new ProcessedImage(new ProcessedImageMeta
            {
                SourceSha256 = sha,
                Format = header.Format,
                Width = header.Width,
                Height = header.Height,
                Bucket = [assignment.Bucket.Width, assignment.Bucket.Height],
                Resized = [assignment.Resized.Width, assignment.Resized.Height],
                CropLtrb = [crop.Left, crop.Top, crop.Right, crop.Bottom],
                PngSha256 = Convert.ToHexStringLower(SHA256.HashData(pngBytes)),
            }, pngBytes);
        }
        catch (ImageRejectedException e)
        {
            return new ProcessedImage(new ProcessedImageMeta { SourceSha256 = sha, Rejected = e.Reason }, null);
        }
    }

    private static BucketAssignment Assign(BucketSet buckets, int width, int height)
    {
        try
        {
            return buckets.Assign(width, height);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new ImageRejectedException($"too small ({width}x{height}) for a {buckets.Step}-pixel bucket step with bucket_no_upscale");
        }
    }
}
