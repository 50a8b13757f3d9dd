using System.ComponentModel;
using LoraBake.Pipeline;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>
/// `lorabake verify --project NAME`: rebuilds every stage in lorabake.lock from scratch in a temporary store and
/// output folder and compares fingerprints and output hashes with the lock. Exit 1 on any difference.
/// </summary>
[Description("Rebuild the project from scratch in a temporary store and compare it with lorabake.lock: identical bytes where the numerics environment (LibTorch, CPU kernels, threads, convolution route) is the lock's, float outputs within a stated tolerance where it is not; exit 1 on a difference. Never touches .lorabake/, output/NAME or the lock.")]
public sealed class VerifyCommand : Command<VerifyCommand.Settings>
{
    public sealed class Settings : ProjectSettings
    {
        [CommandOption("--work-dir <DIR>")]
        [Description("Where the scratch store, output and lock go (default: a new folder in the system temp folder, deleted afterwards).")]
        public string? WorkDir { get; init; }

        [CommandOption("--stage <STAGE>")]
        [Description("Check only this stage of the lock (and build what it needs). May be repeated or comma-separated.")]
        public string[] Stages { get; init; } = [];

        [CommandOption("--keep")]
        [Description("Keep the scratch folder to inspect the rebuilt files.")]
        public bool Keep { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var (layout, _, _) = ProjectRecipe.Load(settings.Project);
        var workDir = settings.WorkDir ?? Path.Combine(Path.GetTempPath(), $"lorabake-verify-{settings.Project}-{Guid.NewGuid():N}"[..48]);
        if (Directory.Exists(workDir) && Directory.EnumerateFileSystemEntries(workDir).Any())
            throw new UserError($"--work-dir {workDir} is not empty; verify needs an empty folder so nothing cached is reused.");
        Console.WriteLine($"Rebuilding {settings.Project} from scratch in {workDir}");
        try
        {
            var result = new Verifier(layout, PipelineStages.CreateCatalog).Verify(settings.Project, workDir, line => Console.WriteLine($"  {line}"),
                settings.Stages.SelectMany(f => f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList());
            if (result.Build.Error != null) Console.Error.WriteLine($"error: the rebuild failed: {result.Build.Error}");
            foreach (var v in result.Verdicts) Console.WriteLine($"  {v.Stage}: {Describe(v.Verdict, v.MaxRelativeDifference)}{(v.Verdict == VerifyVerdict.WithinTolerance ? $" — {v.Why}" : "")}");
            var lockName = RepoRelative(layout, layout.LockPath(settings.Project));
            if (result.Matches)
            {
                Console.WriteLine($"verified: {Describe(result.Verdict, result.MaxRelativeDifference)}: {result.CheckedStages.Count} stage(s) rebuilt from scratch against {lockName} ({string.Join(", ", result.CheckedStages)})");
                return 0;
            }
            // Plain lines, not a table: full hashes stay on one line in a CI log of any width.
            foreach (var d in result.Differences)
                Console.WriteLine($"DIFFERENT {d.Stage} {d.File}\n  expected (lock):    {d.Expected}\n  actual (rebuild):   {d.Actual}");
            Console.Error.WriteLine($"verify failed: {result.Differences.Count} difference(s) from {RepoRelative(layout, layout.LockPath(settings.Project))}");
            return 1;
        }
        finally
        {
            if (settings.Keep) Console.WriteLine($"kept {workDir}");
            else try { Directory.Delete(workDir, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    static string Describe(VerifyVerdict verdict, double maxRelative) => verdict switch
    {
        VerifyVerdict.Identical => "identical",
        VerifyVerdict.WithinTolerance => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"equal within tolerance (max rel Δ {maxRelative:0.0e0})"),
        _ => "differs",
    };

    private static string RepoRelative(RepoLayout layout, string path) => Path.GetRelativePath(layout.Root, path).Replace('\\', '/');
}
