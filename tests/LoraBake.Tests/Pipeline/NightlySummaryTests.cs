using LoraBake.Evaluation;
using LoraBake.Pipeline;

namespace LoraBake.Tests.Pipeline;

public class NightlySummaryTests
{
    [Fact]
    public void Markdown_names_rebuilt_and_cached_stages_the_recommendation_and_the_loss()
    {
        using var repo = new PipelineTempRepo();
        repo.AddProject("p");
        var output = repo.Layout.OutputDir("p");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "loss.csv"),
            "step,epoch,loss,lr_unet,lr_te,timestep\n1,1,0.2,0.001,0.0001,10\n2,1,0.4,0.001,0.0001,20\n3,2,0.1,0.001,0.0001,30 40\n");
        File.WriteAllText(Path.Combine(output, "evaluation.json"), "{\"diagnosis\":{\"recommended_epoch\":2,\"recommended_weight\":0.75}}");
        const string plan = """
            {"project":"p","stages":[
              {"name":"Download","status":"fresh","reason":"up to date"},
              {"name":"Train-Epoch-01","status":"stale","reason":"recipe field training.unet_lr changed"}]}
            """;

        var md = ProjectSummary.Markdown(repo.Layout, "p", plan);

        Assert.Contains("### p\n", md);
        Assert.Contains("| Download | cached | up to date |", md);
        Assert.Contains("| Train-Epoch-01 | rebuilt | recipe field training.unet_lr changed |", md);
        Assert.Contains("Recommended: **epoch 2** at **weight 0.75**", md);
        Assert.Contains("Loss: epoch 1 mean 0.3000 → epoch 2 mean 0.1000 (3 steps)", md);
    }

    [Fact]
    public void Missing_files_are_said_plainly()
    {
        using var repo = new PipelineTempRepo();
        var md = ProjectSummary.Markdown(repo.Layout, "p", null);
        Assert.Contains("no evaluation.json", md);
        Assert.Contains("Loss: - (no loss.csv)", md);
        Assert.DoesNotContain("| stage |", md);
    }
}
