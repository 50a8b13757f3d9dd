using System.Diagnostics;

namespace LoraBake.Tests.Evaluation;

/// <summary>Opens a synthetic report in headless Chromium via build/check-report.sh; skipped where Chromium is not installed.</summary>
public sealed class ReportBrowserTests : IDisposable
{
    readonly TempFolder _dir = new("report-browser-");
    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    [Trait("Category", "Browser")]
    public void Report_renders_in_chromium_not_blank()
    {
        Skip.IfNot(File.Exists("/usr/bin/chromium"), "/usr/bin/chromium is not installed (apt-get install -y chromium)");
        var report = SyntheticReport.Write(_dir, cellSize: 96);
        var png = Path.Combine(_dir, "screenshot.png");
        var psi = new ProcessStartInfo("bash", [Path.Combine(RepoFolder.Root, "build", "check-report.sh"), report, png])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(180_000), "check-report.sh did not finish in 3 minutes");
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{stdout.Result}\n{stderr.Result}");
        Assert.Contains("non-white", stdout.Result);
        // Keep the picture for a person to look at when asked to.
        if (Environment.GetEnvironmentVariable("LORABAKE_KEEP_SCREENSHOT") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            File.Copy(png, Path.Combine(keep, "report-screenshot.png"), true);
            File.Copy(report, Path.Combine(keep, "report.html"), true);
            Directory.CreateDirectory(Path.Combine(keep, "grids"));
            File.Copy(Path.Combine(_dir, "grids", "xyz.png"), Path.Combine(keep, "grids", "xyz.png"), true);
        }
    }
}
