using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Sampling;

/// <summary>
/// Writes sample images as PNG with the A1111 <c>parameters</c> text chunk, atomically (temp file in the same
/// folder, then rename), so an interrupted run never leaves a half-written image under the final name.
/// The chunk is tEXt (uncompressed) like webui writes it, or iTXt when the text is not Latin-1.
/// </summary>
public static class PngFile
{
    public const string ParametersKeyword = "parameters";

    /// <summary>Saves <paramref name="image"/> (its PNG metadata gains the chunk) with <paramref name="parameters"/> as infotext.</summary>
    public static void Save(Image<Rgb24> image, string path, string? parameters)
    {
        var png = image.Metadata.GetPngMetadata();
        foreach (var old in png.TextData.Where(t => t.Keyword == ParametersKeyword).ToList()) png.TextData.Remove(old);
        if (parameters is not null) png.TextData.Add(new PngTextData(ParametersKeyword, parameters, "", ""));
        // Never zTXt: readers (webui's PNG Info, civitai) expect the chunk uncompressed.
        var encoder = new PngEncoder { TextCompressionThreshold = int.MaxValue };
        AtomicWrite(path, stream => image.SaveAsPng(stream, encoder));
    }

    /// <summary>The <c>parameters</c> text of a PNG file, or null when it has none.</summary>
    public static string? ReadParameters(string path)
    {
        var info = Image.Identify(path) ?? throw new InvalidDataException($"{path} is not an image");
        return info.Metadata.GetPngMetadata().TextData.FirstOrDefault(t => t.Keyword == ParametersKeyword).Value;
    }

    /// <summary>Writes via a temp file beside <paramref name="path"/> and renames it over the target; on failure the target is untouched.</summary>
    internal static void AtomicWrite(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }
}
