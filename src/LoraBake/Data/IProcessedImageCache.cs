namespace LoraBake.Data;

/// <summary>
/// Where processed images are kept between runs, by key = SHA-256 of (source content hash + processing
/// settings). Implemented over the artifact store by <see cref="StoreProcessedImageCache"/>.
/// </summary>
public interface IProcessedImageCache
{
    /// <summary>The record of a processed image, or null when it is not cached (or its PNG is gone).</summary>
    ProcessedImageMeta? TryGet(string key);
    /// <summary>Stores a processed image atomically under <paramref name="key"/>.</summary>
    void Put(string key, ProcessedImage image);
}
