using LoraBake.Runtime;

namespace LoraBake.Data;

/// <summary>What discovery does with one name in a dataset folder.</summary>
public enum DatasetEntryKind { File, Folder, Skipped }

/// <summary>
/// One name in a dataset folder, classified by lstat(2) before anything is opened: only regular files are
/// read (a named pipe or /dev/zero would block or never end, a socket cannot be read, a broken link has
/// nothing to read). A symbolic link is followed only when it stays inside the dataset folder, or with
/// `dataset.follow_links: true`; then its target is judged by the same rule.
/// </summary>
public sealed record DatasetEntry(DatasetEntryKind Kind, FileStat Stat, string? Reason)
{
    public static DatasetEntry Classify(string root, string path, bool followLinks)
    {
        FileStat own;
        try { own = FileStat.LStat(path); }
        catch (IOException e) { return Skip($"cannot be read ({e.Message})"); }
        switch (own.Kind)
        {
            case FileKind.Regular: return new(DatasetEntryKind.File, own, null);
            case FileKind.Directory: return new(DatasetEntryKind.Folder, own, null);
            case FileKind.Missing: return Skip("removed while the folder was being read");
            case FileKind.Symlink: break;
            default: return Skip($"{Describe(own.Kind)}, not a regular file");
        }

        var linkTarget = new FileInfo(path).LinkTarget ?? "?";
        FileStat target;
        string real;
        try
        {
            target = FileStat.Stat(path);
            if (!target.Exists) return Skip($"broken symbolic link (to {linkTarget})");
            real = RealPath(path);
        }
        catch (IOException e) { return Skip($"symbolic link that cannot be followed (to {linkTarget}: {e.Message})"); }
        if (target.Kind is not (FileKind.Regular or FileKind.Directory))
            return Skip($"symbolic link to a {Describe(target.Kind)} ({real}), not a regular file");
        if (!followLinks && !IsInside(real, root))
            return Skip($"symbolic link to {real}, outside the dataset folder; set dataset.follow_links: true to use it");
        return new(target.Kind == FileKind.Regular ? DatasetEntryKind.File : DatasetEntryKind.Folder, target, null);
    }

    static DatasetEntry Skip(string reason) => new(DatasetEntryKind.Skipped, default, reason);

    static string Describe(FileKind kind) => kind switch
    {
        FileKind.Fifo => "named pipe (FIFO)",
        FileKind.CharDevice => "character device",
        FileKind.BlockDevice => "block device",
        FileKind.Socket => "socket",
        _ => "special file",
    };

    /// <summary>The path with every symbolic link in it resolved (the file's own chain and its folders').</summary>
    public static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full);
        if (parent != null && parent != full) full = Path.Combine(RealPath(parent), Path.GetFileName(full));
        FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
        if (info.LinkTarget == null) return full;
        var target = info.ResolveLinkTarget(returnFinalTarget: true);
        return target == null ? full : RealPath(target.FullName);
    }

    static bool IsInside(string path, string root)
    {
        var realRoot = RealPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return path.StartsWith(realRoot, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }
}
