using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoraBake.Tests.Download;

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1 serving files from memory, with the behaviours downloads meet in the
/// wild: Range support (or not), a connection dropped part-way, and wrong bytes. One request per connection.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly List<string?> _ranges = [];
    private int _dropsLeft;

    public bool SupportRanges { get; set; } = true;
    /// <summary>Bytes of body after which the next <see cref="DropConnections"/> responses are cut off.</summary>
    public long DropAfter { get; set; }
    public int Requests { get { lock (_ranges) return _ranges.Count; } }
    public IReadOnlyList<string?> RangeHeaders { get { lock (_ranges) return _ranges.ToList(); } }

    public LoopbackHttpServer()
    {
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    public string Url(string path) => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/{path}";
    public void Serve(string path, byte[] content) { lock (_files) _files[path] = content; }
    public void DropConnections(int count, long afterBytes) { _dropsLeft = count; DropAfter = afterBytes; }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => Handle(client));
        }
    }

    private async Task Handle(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var head = new StringBuilder();
            var one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(one) == 0) return;
                head.Append((char)one[0]);
            }
            var lines = head.ToString().Split("\r\n");
            var path = lines[0].Split(' ')[1].TrimStart('/');
            var range = lines.FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase))?[6..].Trim();
            lock (_ranges) _ranges.Add(range);
            byte[]? content;
            lock (_files) _files.TryGetValue(path, out content);
            if (content == null)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                return;
            }
            long from = 0;
            string status = "200 OK", extra = "";
            if (range != null && SupportRanges && range.StartsWith("bytes=", StringComparison.Ordinal))
            {
                from = long.Parse(range[6..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
                if (from >= content.Length)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{content.Length}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                    return;
                }
                status = "206 Partial Content";
                extra = $"Content-Range: bytes {from}-{content.Length - 1}/{content.Length}\r\n";
            }
            var body = content.AsMemory((int)from);
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: {(SupportRanges ? "bytes" : "none")}\r\n{extra}Content-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            if (Interlocked.Decrement(ref _dropsLeft) >= 0 && body.Length > DropAfter)
            {
                await stream.WriteAsync(body[..(int)DropAfter]);
                await stream.FlushAsync();
                client.Client.LingerState = new LingerOption(true, 0);   // RST: the transfer is cut, not ended
                return;
            }
            await stream.WriteAsync(body);
        }
        catch (IOException) { }
        catch (SocketException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Dispose();
    }
}
