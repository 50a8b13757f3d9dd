using LoraBake.Pipeline;

namespace LoraBake.Download;

/// <summary>Receives download progress: bytes so far of a known or unknown total.</summary>
public interface IDownloadProgress
{
    void Start(string name, long? totalBytes, long alreadyHave);
    void Advance(long bytes);
    void Note(string message);
    void Done();
}

/// <summary>Reports nothing (tests, quiet runs).</summary>
public sealed class NoDownloadProgress : IDownloadProgress
{
    public static readonly NoDownloadProgress Instance = new();
    public void Start(string name, long? totalBytes, long alreadyHave) { }
    public void Advance(long bytes) { }
    public void Note(string message) { }
    public void Done() { }
}
