using System.Buffers.Binary;

namespace LoraBake.Data;

/// <summary>
/// Is an image file complete? ImageSharp 2.1 decodes a cut-off JPEG, BMP or WebP without an error, filling the
/// missing part with black or leftovers, which would silently train on damaged pictures. These checks read only
/// the container structure (lengths and end markers), never pixels.
/// </summary>
public static class ImageCompleteness
{
    /// <summary>Why the file is incomplete, or null when it is whole (or the format has no check here).</summary>
    public static string? Truncation(string format, ReadOnlySpan<byte> bytes) => format.ToUpperInvariant() switch
    {
        "JPEG" => JpegHasEndMarker(bytes) ? null : "no end-of-image marker",
        "PNG" => PngHasEnd(bytes) ? null : "no IEND chunk",
        "BMP" => bytes.Length >= 6 && BinaryPrimitives.ReadUInt32LittleEndian(bytes[2..]) is var size && size > bytes.Length
            ? $"header says {size} bytes, file has {bytes.Length}" : null,
        "WEBP" => bytes.Length >= 8 && BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]) + 8L is var riff && riff > bytes.Length
            ? $"RIFF header says {riff} bytes, file has {bytes.Length}" : null,
        _ => null,
    };

    /// <summary>
    /// Whether a JPEG reaches its end-of-image marker (FF D9): header segments are skipped by their lengths (an EXIF
    /// thumbnail's own FF D9 is inside one), then the scan data is searched — there FF is always followed by 00,
    /// a restart marker or another segment, so FF D9 is the end. Bytes after the marker (camera trailers) are allowed.
    /// </summary>
    public static bool JpegHasEndMarker(ReadOnlySpan<byte> b)
    {
        if (b.Length < 4 || b[0] != 0xFF || b[1] != 0xD8) return false;
        var i = 2;
        while (i + 4 <= b.Length)
        {
            if (b[i] != 0xFF) return false;
            var marker = b[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker == 0xD9) return true;
            if (marker is >= 0xD0 and <= 0xD7 or 0x01) { i += 2; continue; }
            i += 2 + ((b[i + 2] << 8) | b[i + 3]);
            if (marker == 0xDA) break;
        }
        while (i < b.Length - 1)
        {
            var next = b[i..].IndexOf((byte)0xFF);
            if (next < 0 || i + next + 1 >= b.Length) return false;
            i += next;
            if (b[i + 1] == 0xD9) return true;
            i++;
        }
        return false;
    }

    /// <summary>Walks the PNG chunks by their lengths to IEND; running off the end means the file was cut.</summary>
    public static bool PngHasEnd(ReadOnlySpan<byte> b)
    {
        long i = 8;
        while (i + 8 <= b.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(b[(int)i..]);
            if (b.Slice((int)i + 4, 4).SequenceEqual("IEND"u8)) return true;
            i += 12L + length;
        }
        return false;
    }
}
