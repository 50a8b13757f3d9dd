using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>
/// Only one build of a project at a time: .lorabake/locks/NAME.lock held open with FileShare.None (an OS file
/// lock, so a crashed build releases it with its process). NAME.owner beside it says who holds it, for the message.
/// </summary>
public sealed class BuildLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _ownerPath;

    private BuildLock(FileStream stream, string ownerPath)
    {
        _stream = stream;
        _ownerPath = ownerPath;
    }

    public static BuildLock Acquire(ArtifactStore store, string project)
    {
        Directory.CreateDirectory(store.LocksDir);
        var lockPath = Path.Combine(store.LocksDir, project + ".lock");
        var ownerPath = Path.Combine(store.LocksDir, project + ".owner");
        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string owner;
            try { owner = File.ReadAllText(ownerPath).Trim(); } catch (IOException) { owner = "unknown"; }
            throw new UserError(
                $"another build of project {project} is running (pid {owner}); wait for it to finish or stop it, then run again. " +
                $"(The lock {lockPath} is released automatically when that process exits.)");
        }
        File.WriteAllText(ownerPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new BuildLock(stream, ownerPath);
    }

    public void Dispose()
    {
        try { File.Delete(_ownerPath); } catch (IOException) { }
        _stream.Dispose();
    }
}
