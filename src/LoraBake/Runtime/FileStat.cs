using System.Runtime.InteropServices;

namespace LoraBake.Runtime;

/// <summary>What kind of directory entry a path is, as lstat(2) tells without opening it.</summary>
public enum FileKind { Missing, Regular, Directory, Symlink, Fifo, CharDevice, BlockDevice, Socket, Other }

/// <summary>
/// lstat(2)/stat(2) of a path: its kind, size, modification and change times in nanoseconds, device and inode.
/// .NET has no public API for the file type (a FIFO looks like an empty regular file to FileInfo, and opening
/// it blocks) nor for the inode, so on Unix this calls the runtime's own shim (libSystem.Native, the one
/// FileInfo uses; its FileStatus layout and S_IF* values are fixed "forever" in pal_io.h). On Windows it falls
/// back to FileInfo: no FIFOs there, and no inode (0).
/// </summary>
public readonly partial record struct FileStat(FileKind Kind, long Size, long MtimeNs, long CtimeNs, long Device, long Inode)
{
    public bool Exists => Kind != FileKind.Missing;

    /// <summary>The entry itself: a symbolic link is reported as <see cref="FileKind.Symlink"/>, not followed.</summary>
    public static FileStat LStat(string path) => Get(path, follow: false);

    /// <summary>What the path leads to, following symbolic links (a broken link is <see cref="FileKind.Missing"/>).</summary>
    public static FileStat Stat(string path) => Get(path, follow: true);

    private static FileStat Get(string path, bool follow)
    {
        if (OperatingSystem.IsWindows()) return FromFileInfo(path, follow);
        var rc = follow ? Native.Stat(path, out var s) : Native.LStat(path, out s);
        if (rc != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // ENOENT (2) and ENOTDIR (20) mean "not there"; anything else (EACCES, EIO, ELOOP) is a real error.
            if (errno is 2 or 20) return default;
            throw new IOException($"{path}: cannot read its file status ({Marshal.GetPInvokeErrorMessage(errno)})");
        }
        var kind = (s.Mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.Symlink,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
        return new FileStat(kind, s.Size, s.MTime * 1_000_000_000 + s.MTimeNsec, s.CTime * 1_000_000_000 + s.CTimeNsec, s.Dev, s.Ino);
    }

    private static FileStat FromFileInfo(string path, bool follow)
    {
        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists) info = new DirectoryInfo(path);
        if (!info.Exists && info.LinkTarget == null) return default;
        if (info.LinkTarget != null)
        {
            if (!follow) return new FileStat(FileKind.Symlink, 0, info.LastWriteTimeUtc.Ticks * 100, 0, 0, 0);
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null || !target.Exists) return default;
            info = target;
        }
        var isDir = info is DirectoryInfo;
        return new FileStat(isDir ? FileKind.Directory : FileKind.Regular, isDir ? 0 : ((FileInfo)info).Length,
            info.LastWriteTimeUtc.Ticks * 100, info.CreationTimeUtc.Ticks * 100, 0, 0);
    }

    /// <summary>The runtime's FileStatus (src/native/libs/System.Native/pal_io.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Status
    {
        public int Flags, Mode;
        public uint Uid, Gid;
        public long Size, ATime, ATimeNsec, MTime, MTimeNsec, CTime, CTimeNsec, BirthTime, BirthTimeNsec, Dev, RDev, Ino;
        public uint UserFlags;
    }

    private static partial class Native
    {
        [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int LStat(string path, out Status status);

        [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Stat(string path, out Status status);
    }
}
