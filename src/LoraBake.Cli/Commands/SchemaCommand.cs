using System.ComponentModel;
using LoraBake.Recipes;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake schema`: the recipe's JSON Schema, for editors; recipes/lorabake.schema.json is its output.</summary>
[Description("Print the JSON Schema of recipe files (recipes/lorabake.schema.json is this output): lorabake schema > recipes/lorabake.schema.json")]
public sealed class SchemaCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        Console.Out.Write(RecipeJsonSchema.Json());
        return 0;
    }
}
