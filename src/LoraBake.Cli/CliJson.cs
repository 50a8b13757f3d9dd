using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoraBake.Cli;

/// <summary>The JSON style of every `--json` output: snake_case, indented, enums as strings.</summary>
public static class CliJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
