using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace LoraBake.Data;

/// <summary>An image file that cannot be used, and why (the reason goes into the dataset report).</summary>
public sealed class ImageRejectedException(string reason) : Exception(reason)
{
    public string Reason => Message;
}

/// <summary>What an image header says: its size after EXIF orientation, without decoding any pixel.</summary>
public readonly record struct ImageHeader(int Width, int Height, string Format, ushort Orientation);

/// <summary>
/// Decoding dataset images into 8-bit RGB: header read first so an image declaring more than max_image_pixels
/// is refused before any pixel buffer exists (decompression bombs); EXIF orientation applied; grayscale,
/// palette, CMYK and 16-bit converted by ImageSharp to 8-bit; alpha flattened onto the background colour.
/// </summary>
public static class ImageDecoding
{
    /// <summary>Read only the header. Throws <see cref="ImageRejectedException"/> for empty, unknown or oversized files.</summary>
    public static ImageHeader Identify(byte[] bytes, long maxImagePixels)
    {
        if (bytes.Length == 0) throw new ImageRejectedException("empty file");
        SixLabors.ImageSharp.Formats.IImageFormat? format;
        IImageInfo? info;
        try
        {
            info = Image.Identify(bytes, out format);
        }
        // Any decoder failure on a damaged file is that file's problem, not the run's (memory exhaustion excepted).
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageRejectedException($"unreadable image header ({e.Message.TrimEnd('.')})");
        }
        if (info is null || format is null) throw new ImageRejectedException("not an image (unknown format)");
        if (info.Width <= 0 || info.Height <= 0) throw new ImageRejectedException($"invalid size {info.Width}x{info.Height}");
        var pixels = (long)info.Width * info.Height;
        if (pixels > maxImagePixels)
            throw new ImageRejectedException($"declares {info.Width}x{info.Height} = {pixels:N0} pixels, over max_image_pixels {maxImagePixels:N0} (raise dataset.max_image_pixels if the image is genuine)");
        var orientation = OrientationOf(info.Metadata.ExifProfile);
        var swap = orientation is >= 5 and <= 8;
        return new ImageHeader(swap ? info.Height : info.Width, swap ? info.Width : info.Height, format.Name, orientation);
    }

    /// <summary>Decode to upright 8-bit RGB with alpha flattened onto <paramref name="background"/>.</summary>
    public static Image<Rgb24> DecodeRgb(byte[] bytes, Rgb24 background, long maxImagePixels)
    {
        var header = Identify(bytes, maxImagePixels);
        if (ImageCompleteness.Truncation(header.Format, bytes) is { } truncated)
            throw new ImageRejectedException($"truncated {header.Format} ({truncated}); the file is incomplete, re-export or re-download it");
        Image<Rgba32> rgba;
        try
        {
            rgba = Image.Load<Rgba32>(bytes);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ImageRejectedException($"cannot decode {header.Format} ({e.Message.TrimEnd('.')})");
        }
        using (rgba)
        {
            if (header.Orientation > 1) rgba.Mutate(x => x.AutoOrient());
            return Flatten(rgba, background);
        }
    }

    /// <summary>out = α·colour + (1−α)·background per channel, rounded — straight (non-premultiplied) alpha.</summary>
    public static Image<Rgb24> Flatten(Image<Rgba32> source, Rgb24 background)
    {
        var result = new Image<Rgb24>(source.Width, source.Height);
        source.ProcessPixelRows(result, (src, dst) =>
        {
            for (var y = 0; y < src.Height; y++)
            {
                var s = src.GetRowSpan(y);
                var d = dst.GetRowSpan(y);
                for (var x = 0; x < s.Length; x++)
                {
                    var p = s[x];
                    if (p.A == 255) { d[x] = new Rgb24(p.R, p.G, p.B); continue; }
                    int a = p.A, ia = 255 - a;
                    d[x] = new Rgb24(
                        (byte)((p.R * a + background.R * ia + 127) / 255),
                        (byte)((p.G * a + background.G * ia + 127) / 255),
                        (byte)((p.B * a + background.B * ia + 127) / 255));
                }
            }
        });
        return result;
    }

    private static ushort OrientationOf(ExifProfile? exif)
    {
        if (exif is null) return 1;
        var value = exif.GetValue(ExifTag.Orientation);
        return value is null || value.Value is < 1 or > 8 ? (ushort)1 : value.Value;
    }
}
