using System.ComponentModel;
using System.Diagnostics;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake lock-diff --project NAME [--base REV] [--markdown]`: the working lorabake.lock against the committed
/// one (`git show REV:projects/NAME/lorabake.lock`), stage by stage, in the planner's words.
/// </summary>
[Description("Say in plain words which stages of lorabake.lock changed since a git revision (default HEAD) and why: the inputs that changed, the outputs that changed.")]
public sealed class LockDiffCommand : Command<LockDiffCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("--base <REV>")]
        [Description("The git revision to compare with (default HEAD).")]
        public string Base { get; init; } = "HEAD";

        [CommandOption("--markdown")]
        [Description("Print Markdown (for a CI job summary or a pull request body).")]
        public bool Markdown { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        settings.RequireProject();
        var layout = RepoLayout.Discover();
        var lockPath = layout.LockPath(settings.Project);
        var gitPath = Path.GetRelativePath(layout.Root, lockPath).Replace('\\', '/');
        var (found, text) = GitShow(layout.Root, settings.Base, gitPath);
        var before = found ? Parse(text, settings.Project) : new LockFile(settings.Project, []);
        var after = LockFile.Read(lockPath);
        var changes = LockDiff.Compare(before, after);
        var header = $"lorabake.lock of {settings.Project}: working copy against {settings.Base}{(found ? "" : " (no lock there: every stage is new)")}";
        Console.Write((settings.Markdown ? $"#### {header}\n\n" : header + "\n") + LockDiff.Describe(changes, settings.Markdown));
        return 0;
    }

    private static LockFile Parse(string text, string project)
    {
        var temp = Path.Combine(Path.GetTempPath(), $"lorabake-lockdiff-{Guid.NewGuid():N}", project);
        Directory.CreateDirectory(temp);
        try
        {
            File.WriteAllText(Path.Combine(temp, "lorabake.lock"), text);
            return LockFile.Read(Path.Combine(temp, "lorabake.lock"));
        }
        finally { Directory.Delete(Path.GetDirectoryName(temp)!, recursive: true); }
    }

    /// <summary>`git show REV:PATH`; (false, "") when the path is not in that revision; a UserError when git itself fails.</summary>
    private static (bool Found, string Text) GitShow(string root, string rev, string path)
    {
        var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        psi.ArgumentList.Add("show");
        psi.ArgumentList.Add($"{rev}:{path}");
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new UserError($"lock-diff needs git on PATH ({e.Message}).", inner: e); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            if (p.ExitCode == 0) return (true, stdout.Result);
            var err = stderr.Result;
            if (err.Contains("does not exist in", StringComparison.Ordinal) || err.Contains("exists on disk, but not in", StringComparison.Ordinal)) return (false, "");
            throw new UserError($"git show {rev}:{path} failed in {root}: {err.Trim()} (is --base a revision of this repository?)");
        }
    }
}
