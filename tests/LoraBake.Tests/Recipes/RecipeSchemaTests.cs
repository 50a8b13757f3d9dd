using System.Text.RegularExpressions;
using LoraBake.Recipes;

namespace LoraBake.Tests.Recipes;

/// <summary>RecipeSchema is the one place a setting is declared: the records, base.yaml and the editors' JSON Schema agree with it.</summary>
public sealed class RecipeSchemaTests
{
    static string RepoRoot => Path.GetDirectoryName(RecipeTestRepo.PresetsDir)!;

    [Fact]
    public void Every_settable_property_of_the_records_has_exactly_one_row()
    {
        var records = RecipeLoader.Sections.Select(s => s.Type).Append(typeof(SubsetSettings));
        var properties = records.SelectMany(t => KeyNames.Keys(t).Select(k => $"{RecipeSchema.SectionOf(t)}.{k.Key}")).Order(StringComparer.Ordinal);
        Assert.Equal(properties, RecipeSchema.Settings.Select(s => s.Path).Order(StringComparer.Ordinal));
        Assert.All(RecipeSchema.Settings, s => Assert.False(string.IsNullOrWhiteSpace(s.Help), s.Path));
    }

    [Fact]
    public void Base_yaml_writes_each_settings_help_beside_it()
    {
        var section = "";
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(RecipeTestRepo.PresetsDir, "base.yaml")))
        {
            if (Regex.Match(line, @"^([a-z]+):\s*$") is { Success: true } s) section = s.Groups[1].Value;
            else if (Regex.Match(line, @"^  ([a-z_0-9]+):.*?\s#\s(.*)$") is { Success: true } k) written[$"{section}.{k.Groups[1].Value}"] = k.Groups[2].Value.Trim();
        }
        foreach (var spec in RecipeSchema.Settings.Where(s => !s.Section.Contains('[')))
        {
            Assert.True(written.TryGetValue(spec.Path, out var help), $"base.yaml has no commented line for {spec.Path}");
            Assert.Equal(spec.Help, help);
        }
    }

    [Fact]
    public void The_committed_json_schema_is_the_one_lorabake_schema_writes()
    {
        var committed = File.ReadAllText(Path.Combine(RecipeTestRepo.PresetsDir, "lorabake.schema.json"));
        Assert.True(committed == RecipeJsonSchema.Json(), "recipes/lorabake.schema.json is out of date; run: dotnet src/LoraBake.Cli/bin/Release/net10.0/lorabake.dll schema > recipes/lorabake.schema.json");
    }

    [Fact]
    public void Presets_and_projects_point_editors_at_the_schema()
    {
        var files = Directory.GetFiles(RecipeTestRepo.PresetsDir, "*.yaml")
            .Concat(Directory.GetFiles(Path.Combine(RepoRoot, "projects"), "project.yaml", SearchOption.AllDirectories));
        foreach (var file in files)
        {
            const string prefix = "# yaml-language-server: $schema=";
            var first = File.ReadLines(file).First();
            Assert.True(first.StartsWith(prefix, StringComparison.Ordinal), $"{file} does not start with {prefix}");
            var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, first[prefix.Length..]));
            Assert.Equal(Path.Combine(RecipeTestRepo.PresetsDir, "lorabake.schema.json"), target);
        }
        Assert.Equal("# yaml-language-server: $schema=../../recipes/lorabake.schema.json", ProjectScaffold.SchemaLine);
    }

    [Fact]
    public void Kohya_names_are_not_our_keys_and_point_at_a_setting()
    {
        var ourKeys = RecipeSchema.Settings.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (kohya, where) in RecipeSchema.KohyaNames)
        {
            Assert.DoesNotContain(kohya, ourKeys);
            Assert.Contains(RecipeSchema.Settings, s => where.StartsWith(s.Path, StringComparison.Ordinal));
        }
        Assert.Equal("training.how_many (with preferred_unit: steps)", RecipeSchema.KohyaNames["max_train_steps"]);
    }
}
