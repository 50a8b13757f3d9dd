using System.Diagnostics;
using Spectre.Console;
using LoraBake.Pipeline;

namespace LoraBake.Download;

/// <summary>
/// Download progress on the console: a Spectre.Console bar (bytes, rate, ETA) on an interactive terminal,
/// plain lines every 10% (or 10 s) when output is redirected or in CI, so logs stay readable.
/// </summary>
public static class ConsoleDownloadProgress
{
    public static bool Interactive =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive &&
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")) && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TF_BUILD"));

    /// <summary>Runs <paramref name="work"/> with a progress reporter suited to this console.</summary>
    public static T Run<T>(Func<IDownloadProgress, T> work)
    {
        if (!Interactive) return work(new PlainProgress());
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx => result = work(new BarProgress(ctx)));
        return result;
    }

    private sealed class BarProgress(ProgressContext ctx) : IDownloadProgress
    {
        private ProgressTask? _task;
        public void Start(string name, long? totalBytes, long alreadyHave)
        {
            _task = ctx.AddTask(Markup.Escape(name), maxValue: totalBytes ?? 1);
            _task.IsIndeterminate = totalBytes == null;
            _task.Value = alreadyHave;
        }
        public void Advance(long bytes) => _task?.Increment(bytes);
        public void Note(string message) => AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(message)}[/]");
        public void Done()
        {
            if (_task == null) return;
            if (_task.IsIndeterminate) { _task.MaxValue = Math.Max(1, _task.Value); _task.IsIndeterminate = false; }
            _task.Value = _task.MaxValue;
            _task.StopTask();
        }
    }

    private sealed class PlainProgress : IDownloadProgress
    {
        private readonly Stopwatch _clock = new();
        private string _name = "";
        private long? _total;
        private long _have, _startHave, _lastReported;
        private TimeSpan _lastTime;

        public void Start(string name, long? totalBytes, long alreadyHave)
        {
            (_name, _total, _have, _startHave, _lastReported) = (name, totalBytes, alreadyHave, alreadyHave, alreadyHave);
            _clock.Restart();
            _lastTime = TimeSpan.Zero;
            Console.WriteLine(alreadyHave > 0
                ? $"Downloading {name}: resuming at {Bytes(alreadyHave)} of {(totalBytes is long t ? Bytes(t) : "unknown size")}"
                : $"Downloading {name} ({(totalBytes is long t2 ? Bytes(t2) : "unknown size")})");
        }

        public void Advance(long bytes)
        {
            _have += bytes;
            var step = _total is long t && t > 0 ? t / 10 : 64L << 20;
            if (_have - _lastReported >= step || _clock.Elapsed - _lastTime >= TimeSpan.FromSeconds(10)) Report();
        }

        public void Note(string message) => Console.WriteLine($"{_name}: {message}");

        public void Done()
        {
            Report();
            Console.WriteLine($"Downloaded {_name}: {Bytes(_have)} in {_clock.Elapsed.TotalSeconds:0.0} s");
        }

        private void Report()
        {
            _lastReported = _have;
            _lastTime = _clock.Elapsed;
            var rate = (_have - _startHave) / Math.Max(0.001, _clock.Elapsed.TotalSeconds);
            var pct = _total is long t && t > 0 ? $"{100.0 * _have / t,5:0.0}% " : "";
            var eta = _total is long t2 && rate > 0 ? $", ETA {TimeSpan.FromSeconds(Math.Max(0, (t2 - _have) / rate)):hh\\:mm\\:ss}" : "";
            Console.WriteLine($"  {pct}{Bytes(_have)}{(_total is long t3 ? " / " + Bytes(t3) : "")}, {Bytes((long)rate)}/s{eta}");
        }
    }

    public static string Bytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):0.00} GiB",
        >= 1L << 20 => $"{n / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{n / 1024.0:0.0} KiB",
        _ => $"{n} B",
    };
}
