namespace LoraBake.Runtime;

/// <summary>
/// The one rule for project names, used by `lorabake new` and by every command that takes --project (through
/// <see cref="RepoLayout"/>): a name becomes a folder under projects/ and output/, a lock file name and part of
/// shell commands, so it is one plain path segment. A path (`../projects/demo`, `demo/../demo`) is refused as such.
/// </summary>
public static class ProjectName
{
    /// <summary>Characters the colab refuses in project names (they end up in file names and shell commands).</summary>
    public const string ForbiddenCharacters = " .()\"'\\/";

    /// <summary>Why <paramref name="name"/> cannot be a project name, or null when it can.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "the project name is empty";
        if (name.Contains('/') || name.Contains('\\') || name.Contains(".."))
            return $"project name \"{name}\" is a path; give the project's folder name under projects/ (e.g. \"{LastSegment(name)}\"), not a path to it";
        var bad = name.Where(c => ForbiddenCharacters.Contains(c) || char.IsControl(c) || ":*?<>|".Contains(c)).Distinct().ToList();
        if (bad.Count > 0)
            return $"project name \"{name}\" contains {string.Join(" ", bad.Select(c => c == ' ' ? "a space" : $"'{c}'"))}; names may not contain spaces or . ( ) \" ' \\ / : * ? < > | (use - or _ instead)";
        if (name.StartsWith('-')) return $"project name \"{name}\" starts with '-'; start it with a letter or digit";
        return null;
    }

    /// <summary>Throws a <see cref="UserError"/> saying what is wrong with the name.</summary>
    public static string Check(string name) => Problem(name) is { } problem ? throw new UserError(problem + ".") : name;

    static string LastSegment(string path)
    {
        var parts = path.Split('/', '\\').Where(p => p.Length > 0 && p != "." && p != "..").ToList();
        return parts.Count > 0 ? parts[^1] : "demo";
    }
}
