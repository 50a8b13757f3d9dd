using LoraBake.Pipeline;

namespace LoraBake.Download;

/// <summary>
/// The SD 1.x tokenizer (openai/clip-vit-large-patch14's vocab.json and merges.txt). Single-file checkpoints do
/// not carry it, so the Download stage fetches it with a preset model unless the recipe names a
/// `model.tokenizer` folder. Their SHA-256 are not pinned here (we could not verify the published bytes); the
/// files are checked by loading them, and the log shows their hashes for anyone who wants to pin them.
/// </summary>
public static class ClipTokenizerFiles
{
    public const string Folder = "tokenizer";

    public static readonly IReadOnlyList<(string FileName, string Url)> Files =
    [
        ("vocab.json", "https://huggingface.co/openai/clip-vit-large-patch14/resolve/main/vocab.json"),
        ("merges.txt", "https://huggingface.co/openai/clip-vit-large-patch14/resolve/main/merges.txt"),
    ];

    /// <summary>Downloads (or reuses from the store) both files into <paramref name="entryDir"/>/tokenizer/.</summary>
    public static void Fetch(StageContext c, EntryWriter output)
    {
        var dir = Path.Combine(output.Directory, Folder);
        Directory.CreateDirectory(dir);
        foreach (var (name, url) in Files)
        {
            var r = ConsoleDownloadProgress.Run(p => new HttpDownloader(c.Store).Fetch(url, null, name, $"the CLIP tokenizer's {name}", p));
            File.Copy(c.Store.BlobPath(r.Sha256), Path.Combine(dir, name));
            c.Log($"tokenizer: {name} sha256 {r.Sha256}");
        }
    }
}
