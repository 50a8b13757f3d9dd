using System.ComponentModel;
using LoraBake.Recipes;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Cli.Commands;

/// <summary>`lorabake new NAME --preset character-lora`: scaffold projects/NAME/.</summary>
[Description("Create projects/NAME with a project.yaml that extends a preset and an empty dataset/ folder.")]
public sealed class NewCommand : Command<NewCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<NAME>")]
        [Description("Project name (no spaces or . ( ) \" ' \\ /); also the name of the LoRA files.")]
        public string Name { get; init; } = "";

        [CommandOption("--preset <PRESET>")]
        [Description("A preset from recipes/: character-lora (default), style-locon, base.")]
        [DefaultValue("character-lora")]
        public string Preset { get; init; } = "character-lora";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var layout = RepoLayout.Discover();
        var dir = ProjectScaffold.Create(layout, settings.Name, settings.Preset);
        var rel = RecipeLoader.DisplayPath(layout.Root, dir);
        Console.WriteLine($"Created {rel}/project.yaml (extends {settings.Preset}) and {rel}/dataset/.");
        Console.WriteLine($"Next: put images and .txt captions in {rel}/dataset/ (see its README.md).");
        return 0;
    }
}
