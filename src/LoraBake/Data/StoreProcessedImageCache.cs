using LoraBake.Pipeline;

namespace LoraBake.Data;

/// <summary>
/// Processed images in the artifact store: the PNG is a blob (objects/, by its SHA-256, shared by every
/// project and run that produces the same pixels) and a small entry `process-image/KEY` holds meta.json and
/// references the blob, so the store's entry check also proves the PNG is still there.
/// </summary>
public sealed class StoreProcessedImageCache(ArtifactStore store) : IProcessedImageCache
{
    public const string Kind = "process-image";
    private const string MetaFile = "meta.json";

    public ProcessedImageMeta? TryGet(string key)
    {
        var dir = store.TryOpenEntry(Kind, key);
        if (dir is null) return null;
        ProcessedImageMeta? meta;
        try { meta = ProcessedImageMeta.FromJson(File.ReadAllText(Path.Combine(dir, MetaFile))); }
        catch (System.Text.Json.JsonException) { return null; }
        catch (IOException) { return null; }
        // The entry verified, so this only guards against records written by a buggy version: reprocess, never crash.
        if (meta is null) return null;
        if (meta.Rejected != null) return meta;
        return Hashing.IsSha256(meta.PngSha256) && meta.Bucket is { Length: 2 } && meta.CropLtrb is { Length: 4 } && store.HasBlob(meta.PngSha256!) ? meta : null;
    }

    public void Put(string key, ProcessedImage image)
    {
        if (image.Png != null)
        {
            var temp = store.NewTempPath();
            File.WriteAllBytes(temp, image.Png);
            store.PutFile(temp, image.Meta.PngSha256!, move: true);
        }
        using var writer = store.BeginEntry(Kind, key);
        File.WriteAllText(Path.Combine(writer.Directory, MetaFile), image.Meta.ToJson());
        if (image.Png != null) writer.ReferenceBlob(image.Meta.PngSha256!);
        writer.Commit();
    }
}
