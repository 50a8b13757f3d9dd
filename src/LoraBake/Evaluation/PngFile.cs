using LoraBake.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>Saves grids and loss.png atomically, so a viewer or the report never sees half a file.</summary>
public static class PngFile
{
    public static void Write(Image<Rgb24> image, string path) =>
        AtomicFile.Write(path, temp => image.Save(temp, new PngEncoder()));
}
