using LoraBake.Runtime;

namespace LoraBake.Pipeline;

/// <summary>
/// Only one build of a project at a time: .lorabake/locks/NAME.lock held open with FileShare.None (an OS file
/// lock, so a crashed or killed build releases it with its process: a stale lock file of a dead process is simply
/// taken over). NAME.owner beside it says who holds it, for the message. A second build either fails at once or
/// waits for the first, saying so once, as Gradle and apt do; any other I/O error is reported as itself.
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

    /// <param name="wait">How long to wait for another build of the project: null fails at once (--no-wait),
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits as long as it takes.</param>
    /// <param name="log">Told once when this build starts waiting.</param>
    public static BuildLock Acquire(ArtifactStore store, string project, TimeSpan? wait = null, Action<string>? log = null)
    {
        ProjectName.Check(project);
        var lockPath = Path.Combine(store.LocksDir, project + ".lock");
        var ownerPath = Path.Combine(store.LocksDir, project + ".owner");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var told = false;
        while (true)
        {
            try
            {
                Directory.CreateDirectory(store.LocksDir);
                var stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                // A leftover NAME.owner (a build killed before it could delete it) is simply overwritten.
                File.WriteAllText(ownerPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return new BuildLock(stream, ownerPath);
            }
            catch (IOException e) when (IsHeldByAnother(e))
            {
                var owner = Owner(ownerPath);
                if (wait is not { } w || (w != Timeout.InfiniteTimeSpan && waited.Elapsed >= w))
                    throw new UserError(
                        $"another build of project {project} is running (pid {owner}); wait for it to finish or stop it, then run again" +
                        (wait is null ? " (without --no-wait, a build waits for it)" : $" (waited {waited.Elapsed.TotalSeconds:0} s)") +
                        $". (The lock {lockPath} is released automatically when that process exits.)");
                if (!told)
                {
                    log?.Invoke($"waiting for another build of project {project} (pid {owner}) to finish; use --no-wait to fail instead");
                    told = true;
                }
                Thread.Sleep(200);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserError($"cannot take the build lock {lockPath}: {e.Message} ({e.GetType().Name}). " +
                    $"Check that {store.LocksDir} is a folder this user can write to.", inner: e);
            }
        }
    }

    /// <summary>The open failed because another open file description holds the lock (EWOULDBLOCK / a sharing violation), not for another I/O reason.</summary>
    private static bool IsHeldByAnother(IOException e) =>
        e.GetType() == typeof(IOException) && e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private static string Owner(string ownerPath)
    {
        try
        {
            var text = File.ReadAllText(ownerPath).Trim();
            return int.TryParse(text, out _) ? text : "unknown";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unknown"; }
    }

    public void Dispose()
    {
        try { File.Delete(_ownerPath); } catch (IOException) { }
        _stream.Dispose();
    }
}
