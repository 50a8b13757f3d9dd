using System.ComponentModel;
using LoraBake.Models.Text;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake tokenize`: how CLIP sees a prompt — ids, count, and the 75-token chunks it falls into.</summary>
[Description("Tokenize a prompt with a CLIP tokenizer: ids without BOS/EOS, their count and the 75-token chunks.")]
public sealed class TokenizeCommand : Command<TokenizeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<PROMPT>")]
        [Description("The prompt or caption to tokenize.")]
        public string Prompt { get; init; } = "";

        [CommandOption("--tokenizer <DIR>")]
        [Description("Folder with vocab.json and merges.txt (e.g. an SD1.5 model's 'tokenizer' folder).")]
        public string? Tokenizer { get; init; }

        [CommandOption("--json")]
        [Description("Print {\"ids\": [[...]], \"tokens\": [[...]], \"chunks\": N}.")]
        public bool Json { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        Run(settings, Console.Out);

    public static int Run(Settings settings, TextWriter output)
    {
        if (string.IsNullOrWhiteSpace(settings.Tokenizer))
            throw new UserError("lorabake tokenize: no tokenizer given. Pass --tokenizer DIR, a folder with vocab.json " +
                                "and merges.txt (for SD1.x: the 'tokenizer' folder of a diffusers model).");
        var tokenizer = ClipTokenizer.Load(settings.Tokenizer);
        var tokens = tokenizer.Tokenize(settings.Prompt);
        int chunkCount = Math.Max(1, (tokens.Count + PromptEncoder.ChunkLength - 1) / PromptEncoder.ChunkLength);

        if (settings.Json)
        {
            var report = new { ids = tokens.Select(t => t.Id), tokens = tokens.Select(t => t.Text), chunks = chunkCount };
            output.WriteLine(System.Text.Json.JsonSerializer.Serialize(report, CliJson.Options));
            return 0;
        }

        output.WriteLine($"ids: {string.Join(' ', tokens.Select(t => t.Id))}");
        output.WriteLine($"{tokens.Count} tokens (BOS/EOS not counted); {chunkCount} chunk{(chunkCount == 1 ? "" : "s")} of 75 " +
                         $"(kohya max_token_length {Math.Min(chunkCount, 3) * 75} keeps {Math.Min(tokens.Count, 225)}).");
        for (int c = 0; c < chunkCount; c++)
        {
            var chunk = tokens.Skip(c * PromptEncoder.ChunkLength).Take(PromptEncoder.ChunkLength).ToList();
            output.WriteLine($"chunk {c + 1}: {chunk.Count} tokens: {tokenizer.Decode(chunk.Select(t => t.Id))}");
        }
        if (tokens.Count > PromptEncoder.ChunkLength)
        {
            var cut = tokenizer.Decode(tokens.Take(PromptEncoder.ChunkLength).TakeLast(3).Select(t => t.Id));
            output.WriteLine($"cut: a single 77-token window (max_token_length 75) ends after token 75 \"...{cut}\"; " +
                             $"{tokens.Count - PromptEncoder.ChunkLength} tokens after it are dropped.");
        }
        return 0;
    }
}
