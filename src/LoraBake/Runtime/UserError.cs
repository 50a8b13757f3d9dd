namespace LoraBake.Runtime;

/// <summary>
/// An error the user caused and can fix (bad recipe, missing file, checksum mismatch...). Its message is
/// the whole report: it names the file, the place in it, what is wrong and what to do. The CLI prints it
/// without a stack trace and exits with <see cref="ExitCode"/>.
/// </summary>
public class UserError : Exception
{
    public int ExitCode { get; }
    public UserError(string message, int exitCode = 1, Exception? inner = null) : base(message, inner) => ExitCode = exitCode;
}
