using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace LoraBake.Tests.Pipeline;

/// <summary>.github/workflows/nightly.yml: well-formed, and every target and command it runs exists.</summary>
public class NightlyWorkflowTests
{
    private static string Root => RepoFolder.Root;
    private static string WorkflowText => File.ReadAllText(Path.Combine(Root, ".github", "workflows", "nightly.yml"));

    private static YamlMappingNode Workflow()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(WorkflowText));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) =>
        Assert.IsType<YamlMappingNode>(node.Children[new YamlScalarNode(key)]);

    [Fact]
    public void Is_scheduled_and_manual_and_every_job_has_runs_on_and_steps()
    {
        var wf = Workflow();
        var on = Map(wf, "on");
        var schedule = Assert.IsType<YamlSequenceNode>(on.Children[new YamlScalarNode("schedule")]);
        Assert.Contains("cron", schedule.Children.OfType<YamlMappingNode>().Single().Children.Keys.Select(k => k.ToString()));
        Assert.True(on.Children.ContainsKey(new YamlScalarNode("workflow_dispatch")));
        var jobs = Map(wf, "jobs");
        Assert.NotEmpty(jobs.Children);
        foreach (var (name, job) in jobs.Children)
        {
            var j = Assert.IsType<YamlMappingNode>(job);
            Assert.True(j.Children.ContainsKey(new YamlScalarNode("runs-on")), $"job {name} has no runs-on");
            Assert.NotEmpty(Assert.IsType<YamlSequenceNode>(j.Children[new YamlScalarNode("steps")]).Children);
        }
    }

    [Fact]
    public void Uses_the_dotnet_10_sdk_the_store_cache_and_uploads_the_output()
    {
        var text = WorkflowText;
        Assert.Contains("actions/setup-dotnet", text);
        Assert.Contains("dotnet-version: 10.0.x", text);
        Assert.Matches(@"actions/cache@v\d+[\s\S]*path: \.lorabake[\s\S]*hashFiles\(.*lorabake\.lock.*project\.yaml.*recipes/\*\*", text);
        Assert.Contains("restore-keys:", text);
        Assert.Matches(@"actions/upload-artifact@v\d+[\s\S]*path: output/\$\{\{ matrix\.project \}\}/", text);
        Assert.Contains("$GITHUB_STEP_SUMMARY", text);
        Assert.Contains("fromJSON(needs.projects.outputs.matrix)", text);
    }

    [Fact]
    public void Every_cake_target_and_lorabake_command_it_runs_exists()
    {
        var text = WorkflowText;
        var cake = File.ReadAllText(Path.Combine(Root, "build.cake"));
        var tasks = Regex.Matches(cake, "(?:Task|PipelineTarget)\\(\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToHashSet();
        var targets = Regex.Matches(text, @"\./build\.sh\s+--target=(\w+)").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(targets);
        foreach (var t in targets) Assert.True(tasks.Contains(t), $"the workflow runs ./build.sh --target={t}, but build.cake has no Task(\"{t}\")");

        var program = File.ReadAllText(Path.Combine(Root, "src", "LoraBake.Cli", "Program.cs"));
        var commands = Regex.Matches(program, "AddCommand<\\w+>\\(\"([^\"]+)\"\\)").Select(m => m.Groups[1].Value).ToHashSet();
        var used = Regex.Matches(text, @"\$LORABAKE\s+([a-z-]+)").Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("summary", used);
        Assert.Contains("plan", used);
        foreach (var c in used) Assert.True(commands.Contains(c), $"the workflow runs `lorabake {c}`, which Program.cs does not register");
        Assert.Contains("LORABAKE: dotnet src/LoraBake.Cli/bin/Release/net10.0/lorabake.dll", text);
    }
}
