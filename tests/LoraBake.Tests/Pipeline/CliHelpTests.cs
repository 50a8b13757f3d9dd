using System.Diagnostics;
using System.Text.RegularExpressions;

namespace LoraBake.Tests.Pipeline;

/// <summary>Every command's --help renders: a description read as console markup ("[word]") crashes it.</summary>
public partial class CliHelpTests
{
    static (int Exit, string Out, string Err) Lorabake(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lorabake.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    [GeneratedRegex(@"^\s{4}([a-z][a-z-]*)\s", RegexOptions.Multiline)]
    private static partial Regex CommandLine();

    /// <summary>The command names listed under COMMANDS: in a help text.</summary>
    static List<string> Commands(string help)
    {
        var at = help.IndexOf("COMMANDS:", StringComparison.Ordinal);
        Assert.True(at >= 0, help);
        return CommandLine().Matches(help[at..]).Select(m => m.Groups[1].Value).Distinct().ToList();
    }

    [Fact, Trait("Category", "E2E")]
    public void Help_of_every_command_renders()
    {
        var (exit, root, err) = Lorabake("--help");
        Assert.True(exit == 0, err);
        var commands = Commands(root);
        Assert.Contains("generate", commands);
        Assert.Contains("plan", commands);
        var failures = new List<string>();
        foreach (var command in commands)
        {
            var (code, text, error) = Lorabake(command, "--help");
            if (code != 0 || !text.Contains("USAGE:", StringComparison.Ordinal)) failures.Add($"{command}: exit {code}: {error}{text}");
            if (text.Contains("COMMANDS:", StringComparison.Ordinal))
                foreach (var sub in Commands(text))
                {
                    var (c2, t2, e2) = Lorabake(command, sub, "--help");
                    if (c2 != 0 || !t2.Contains("USAGE:", StringComparison.Ordinal)) failures.Add($"{command} {sub}: exit {c2}: {e2}{t2}");
                }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
