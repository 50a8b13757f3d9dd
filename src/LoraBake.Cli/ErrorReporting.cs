using LoraBake.Runtime;
using Spectre.Console;

namespace LoraBake.Cli;

/// <summary>
/// Turns the errors a user can cause (<see cref="UserError"/>) into a clear message and exit code 1,
/// without a stack trace; anything else is a bug and keeps its trace.
/// </summary>
public static class ErrorReporting
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UserError e)
        {
            Console.Error.WriteLine(e.Message);
            return e.ExitCode;
        }
        catch (Spectre.Console.Cli.CommandParseException e)
        {
            Console.Error.WriteLine($"lorabake: {e.Message}");
            return 2;
        }
        catch (Spectre.Console.Cli.CommandRuntimeException e)
        {
            Console.Error.WriteLine($"lorabake: {e.Message}");
            return 2;
        }
        catch (Exception e)
        {
            AnsiConsole.WriteException(e, ExceptionFormats.ShortenPaths);
            return 70;
        }
    }
}
