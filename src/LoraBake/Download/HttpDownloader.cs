using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using LoraBake.Pipeline;
using LoraBake.Runtime;

namespace LoraBake.Download;

/// <summary>
/// Fetches a URL into the store: streams to .lorabake/partial/ (one file per URL, locked while written),
/// resumes an interrupted transfer with an HTTP Range request (restarting when the server ignores ranges),
/// hashes while it streams, refuses a SHA-256 mismatch (nothing is kept), and adds the file to the store by
/// its SHA-256, so a second project with the same model does not download it again.
/// </summary>
public sealed class HttpDownloader(ArtifactStore store, HttpClient? client = null)
{
    private static readonly Lazy<HttpClient> Shared = new(() => new HttpClient(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(30),
        AutomaticDecompression = DecompressionMethods.None,
        AllowAutoRedirect = true,
        MaxAutomaticRedirections = 10,
    }) { Timeout = Timeout.InfiniteTimeSpan, DefaultRequestHeaders = { UserAgent = { new ProductInfoHeaderValue("LoraBake", "0.1") } } });

    private readonly HttpClient _client = client ?? Shared.Value;

    /// <summary>How many times a dropped connection is resumed within one call.</summary>
    public int MaxAttempts { get; init; } = 5;
    /// <summary>A read that makes no progress for this long counts as a dropped connection.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public sealed record Result(string Sha256, long Size, bool Downloaded);

    /// <param name="what">Names the recipe field for messages, e.g. "model.source in projects/demo/project.yaml".</param>
    public Result Fetch(string url, string? expectedSha256, string displayName, string what, IDownloadProgress progress)
    {
        expectedSha256 = expectedSha256?.ToLowerInvariant();
        if (expectedSha256 != null && store.HasIntactBlob(expectedSha256))
            return new Result(expectedSha256, new FileInfo(store.BlobPath(expectedSha256)).Length, false);

        Directory.CreateDirectory(store.PartialDir);
        var partial = Path.Combine(store.PartialDir, Hashing.Sha256Text(url)[..32] + ".part");
        FileStream file;
        try { file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16); }
        catch (IOException) { throw new UserError($"{url} is being downloaded by another LoraBake process; wait for it to finish and run again."); }

        string sha;
        long size;
        using (file)
        {
            string? streamed = null;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    streamed = TryTransfer(url, file, displayName, progress);
                    if (streamed != null) break;
                }
                catch (Exception e) when (IsTransient(e) && attempt < MaxAttempts)
                {
                    progress.Note($"connection lost after {ConsoleDownloadProgress.Bytes(file.Length)} ({e.Message}); resuming (attempt {attempt + 1} of {MaxAttempts})");
                    Thread.Sleep(TimeSpan.FromMilliseconds(200 * attempt));
                    continue;
                }
                catch (HttpRequestException e) when (!IsTransient(e))
                {
                    throw new UserError($"{what}: could not download {url}: {e.Message}. Check the URL and your connection; run again to resume ({ConsoleDownloadProgress.Bytes(file.Length)} kept in {partial}).", inner: e);
                }
                catch (Exception e) when (IsTransient(e))
                {
                    throw new UserError($"{what}: the download of {url} failed {MaxAttempts} times ({e.Message}); run again to resume from {ConsoleDownloadProgress.Bytes(file.Length)}.", inner: e);
                }
            }
            sha = streamed;
            size = file.Length;
        }

        if (expectedSha256 != null && sha != expectedSha256)
        {
            File.Delete(partial);
            throw new UserError(
                $"{what}: the file downloaded from {url} has SHA-256 {sha}, but the recipe expects {expectedSha256}. " +
                "Nothing was kept. If the file was updated on purpose, put the new hash in the recipe; otherwise check the URL (a mirror or a login page returns different bytes).");
        }
        store.PutFile(partial, sha, move: true);
        return new Result(sha, size, true);
    }

    /// <summary>A dropped or stalled connection, or a server error worth retrying; a 4xx answer is not.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        HttpRequestException h => h.StatusCode is null or >= HttpStatusCode.InternalServerError,
        IOException or OperationCanceledException => true,
        _ => false,
    };

    /// <summary>
    /// One request: resumes from the partial file's length. Returns the SHA-256 of the whole file (the kept part is
    /// hashed first, the rest while it streams, so there is no second pass), or null when it has to start over.
    /// </summary>
    private string? TryTransfer(string url, FileStream file, string displayName, IDownloadProgress progress)
    {
        var have = file.Length;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var response = _client.Send(request, HttpCompletionOption.ResponseHeadersRead);

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
        {
            // The partial file already holds everything (or more): a Content-Range "bytes */N" says how much there is.
            if (response.Content.Headers.ContentRange?.Length == have)
            {
                file.Position = 0;
                return Convert.ToHexStringLower(SHA256.HashData(file));
            }
            file.SetLength(0);
            return null;
        }
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"the server answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);

        long? total;
        if (have > 0 && response.StatusCode == HttpStatusCode.PartialContent)
        {
            var range = response.Content.Headers.ContentRange;
            if (range?.From != have)
            {
                progress.Note("the server answered the resume request with a different range; starting over");
                file.SetLength(0);
                return null;
            }
            total = range.Length;
        }
        else
        {
            if (have > 0) progress.Note("the server does not support resuming; starting over");
            file.SetLength(0);
            have = 0;
            total = response.Content.Headers.ContentLength;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (have > 0)
        {
            file.Position = 0;
            var kept = new byte[1 << 20];
            for (int n; (n = file.Read(kept)) > 0;) hash.AppendData(kept, 0, n);
        }
        file.Position = have;
        progress.Start(displayName, total, have);
        using (var body = response.Content.ReadAsStream())
        {
            var buffer = new byte[1 << 20];
            while (true)
            {
                using var stall = new CancellationTokenSource(StallTimeout);
                var n = body.ReadAsync(buffer, stall.Token).AsTask().GetAwaiter().GetResult();
                if (n == 0) break;
                file.Write(buffer, 0, n);
                hash.AppendData(buffer, 0, n);
                progress.Advance(n);
            }
        }
        file.Flush();
        if (total is long t && file.Length != t)
            throw new IOException($"the connection closed at {file.Length} of {t} bytes");
        progress.Done();
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
