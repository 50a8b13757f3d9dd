using LoraBake.Networks;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Tests.Recipes;

public sealed class ProjectScaffoldTests : IDisposable
{
    readonly RecipeTestRepo repo = new();
    public void Dispose() => repo.Dispose();

    [Theory]
    [InlineData("character-lora", NetworkType.LoRA)]
    [InlineData("style-locon", NetworkType.LoCon)]
    public void New_creates_a_project_that_loads_from_the_preset(string preset, NetworkType type)
    {
        var dir = ProjectScaffold.Create(repo.Layout, "my_char-2", preset);
        Assert.Equal(repo.Layout.ProjectDir("my_char-2"), dir);
        Assert.Contains($"extends: {preset}", File.ReadAllText(repo.Layout.RecipePath("my_char-2")));
        Assert.Contains(".txt", File.ReadAllText(Path.Combine(dir, "dataset", "README.md")));
        var r = RecipeLoader.Load(repo.Layout, "my_char-2");
        Assert.True(r.Success, r.FormatErrors());
        Assert.Equal("my_char-2", r.Recipe!.Name);
        Assert.Equal(type, r.Recipe.Network.LoraType);
        Assert.Empty(Directory.GetDirectories(repo.Layout.ProjectsDir, ".*"));
    }

    [Fact]
    public void New_refuses_an_existing_project()
    {
        ProjectScaffold.Create(repo.Layout, "twice");
        File.WriteAllText(repo.Layout.RecipePath("twice"), "extends: base # edited\n");
        var e = Assert.Throws<UserError>(() => ProjectScaffold.Create(repo.Layout, "twice"));
        Assert.Contains("projects/twice already exists", e.Message);
        Assert.Equal("extends: base # edited\n", File.ReadAllText(repo.Layout.RecipePath("twice")));
    }

    [Theory]
    [InlineData("my char")]
    [InlineData("v1.0")]
    [InlineData("name(2)")]
    [InlineData("quote\"d")]
    [InlineData("it's")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("")]
    public void New_refuses_names_the_colab_forbids(string name)
    {
        Assert.NotNull(ProjectScaffold.NameProblem(name));
        Assert.Throws<UserError>(() => ProjectScaffold.Create(repo.Layout, name));
        Assert.Empty(Directory.GetFileSystemEntries(repo.Layout.ProjectsDir));
    }

    [Fact]
    public void New_refuses_an_unknown_preset_listing_the_available_ones()
    {
        var e = Assert.Throws<UserError>(() => ProjectScaffold.Create(repo.Layout, "x", "nope"));
        Assert.Contains("base, character-lora, style-locon", e.Message);
    }
}
