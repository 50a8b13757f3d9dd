using LoraBake.Pipeline;
using LoraBake.Sampling;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>
/// Rendered grid cells in the store, one entry per render: entries/cell/KEY/ with <c>image.png</c> (the render,
/// carrying webui's <c>parameters</c> infotext) and <c>cell.txt</c> (the <see cref="CellKey"/> canonical text
/// the key hashes, so an entry says what it is). KEY is <see cref="CellKey.Compute"/>: the same render in any
/// grid, project or later run is found again, and a damaged entry reads as missing and is rendered anew.
/// </summary>
public sealed class CellStore(ArtifactStore store)
{
    public const string Kind = "cell";
    public const string ImageFile = "image.png";
    public const string KeyFile = "cell.txt";

    /// <summary>The PNG of a cached render, or null when the entry is missing or does not verify.</summary>
    public string? TryGet(string key) =>
        store.TryOpenEntry(Kind, key) is { } dir ? Path.Combine(dir, ImageFile) : null;

    /// <summary>Commits one render; returns the PNG's path inside the committed entry.</summary>
    public string Put(string key, string canonical, Image<Rgb24> image, string infotext)
    {
        using var writer = store.BeginEntry(Kind, key);
        PngFile.Save(image, Path.Combine(writer.Directory, ImageFile), infotext);
        File.WriteAllText(Path.Combine(writer.Directory, KeyFile), canonical);
        writer.Commit();
        return Path.Combine(store.EntryPath(Kind, key), ImageFile);
    }
}
