using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Data;

/// <summary>Image files for the Data tests, made in code (the CMYK JPEG, which ImageSharp cannot write, is embedded).</summary>
internal static class DataTestFiles
{
    /// <summary>A 24×16 CMYK JPEG (Adobe APP14): left half red (220,30,30), right half blue (30,30,220). Made with
    /// Pillow: Image.new("RGB",(24,16),...).convert("CMYK").save(quality=90).</summary>
    public static readonly byte[] CmykJpeg = Convert.FromBase64String(
        "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwADAgIDAgIDAwMDBAMDBAUIBQUEBAUKBwcGCAwKDAwLCgsLDQ4SEA0OEQ4LCxAWEBETFBUVFQwPFxgWFBgSFBUU/8AAFAgAEAAYBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//EALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrCw8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwD71r8+q/Pqv1Tr4C/4Ksf80u/7in/tpRX37/wSn/5qj/3C/wD27or4Cor79or9+qK/AWivgL/gqx/zS7/uKf8AtpRX37/wSn/5qj/3C/8A27or4Cor79or/9k=");

    /// <summary>An image with a left half of <paramref name="left"/> and a right half of <paramref name="right"/>.</summary>
    public static Image<Rgba32> Halves(int w, int h, Rgba32 left, Rgba32 right)
    {
        var img = new Image<Rgba32>(w, h);
        img.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < h; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < w; x++) row[x] = x < w / 2 ? left : right;
            }
        });
        return img;
    }

    public static byte[] Png(Image img, PngColorType color = PngColorType.Rgb, PngBitDepth depth = PngBitDepth.Bit8)
    {
        using var ms = new MemoryStream();
        img.Save(ms, new PngEncoder { ColorType = color, BitDepth = depth });
        return ms.ToArray();
    }

    public static byte[] Jpeg(Image img, ushort orientation = 1)
    {
        if (orientation != 1)
        {
            img.Metadata.ExifProfile = new ExifProfile();
            img.Metadata.ExifProfile.SetValue(ExifTag.Orientation, orientation);
        }
        using var ms = new MemoryStream();
        img.Save(ms, new JpegEncoder { Quality = 95 });
        return ms.ToArray();
    }

    public static byte[] Webp(Image img)
    {
        using var ms = new MemoryStream();
        img.Save(ms, new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });
        return ms.ToArray();
    }

    public static byte[] Bmp(Image img)
    {
        using var ms = new MemoryStream();
        img.Save(ms, new BmpEncoder());
        return ms.ToArray();
    }

    /// <summary>A few-hundred-byte PNG whose header declares <paramref name="w"/>×<paramref name="h"/> RGB (a decompression bomb's header).</summary>
    public static byte[] PngBomb(int w = 60000, int h = 60000)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; ihdr[9] = 2;
        Chunk(ms, "IHDR", ihdr);
        using (var z = new MemoryStream())
        {
            using (var zl = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
                zl.Write(new byte[64 * 1024]); // the first rows of zeros; a real bomb goes on for gigabytes
            Chunk(ms, "IDAT", z.ToArray());
        }
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        s.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFF;
    }
}
