namespace LoraBake.Tests;

/// <summary>
/// A fresh folder under the system temp folder for one test (or one fixture), deleted on Dispose. The test suite's
/// only temp-folder helper: `using var dir = new TempFolder("lorabake-x-");`, or a field disposed by the test class.
/// </summary>
sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix = "lorabake-test-") => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    public string Path { get; }

    /// <summary>A path inside the folder (nothing is created).</summary>
    public string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public static implicit operator string(TempFolder folder) => folder.Path;

    public override string ToString() => Path;

    /// <summary>Best effort: a file a killed child process still holds must not fail the test that made it.</summary>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
