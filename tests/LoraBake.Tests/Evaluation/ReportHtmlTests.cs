using System.Text.RegularExpressions;
using LoraBake.Data;
using LoraBake.Evaluation;
using LoraBake.Recipes;

namespace LoraBake.Tests.Evaluation;

public sealed class ReportHtmlTests : IDisposable
{
    readonly TempFolder _dir = new("report-");
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Report_has_every_section_no_network_resources_and_escapes()
    {
        var html = File.ReadAllText(SyntheticReport.Write(_dir));
        foreach (var id in new[] { "diagnosis", "grids", "loss", "dataset", "settings", "measurements", "reproduce" })
            Assert.Contains($"<section id=\"{id}\">", html);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.EndsWith("</html>\n", html);

        // No resource from the network, and nothing executable.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(", html);
        foreach (Match m in Regex.Matches(html, "(?:src|href)=\"([^\"]*)\""))
            Assert.DoesNotMatch("^(?:[a-z]+:|//)", m.Groups[1].Value);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);

        // The grid is a relative link, the loss chart inline SVG.
        Assert.Contains("<img src=\"grids/xyz.png\"", html);
        Assert.Contains("<svg viewBox=", html);

        // User text is escaped wherever it appears.
        Assert.DoesNotContain("<b>looking</b>", html);
        Assert.Contains("&lt;b&gt;looking&lt;/b&gt; at &quot;viewer&quot;", html);
        Assert.Contains("animated GIF &amp; &lt;script&gt;", html);

        // Balanced structure for the elements the report opens.
        foreach (var tag in new[] { "section", "table", "tr", "details", "pre", "figure", "svg", "ul", "p" })
            Assert.Equal(Regex.Matches(html, $"<{tag}[ >]").Count, Regex.Matches(html, $"</{tag}>").Count);
    }

    [Fact]
    public void Report_reproduce_commands_as_documented()
    {
        var html = File.ReadAllText(SyntheticReport.Write(_dir));
        // Epoch 3 at weight 1, second prompt, seed 2.
        Assert.Contains(ReportHtml.Escape("lorabake generate --model anime --lora output/demo/demo-03.safetensors:1 "
            + "--prompt \"demo, outdoors\" --negative \"lowres, bad anatomy, worst quality, low quality\" --seed 2 --steps 20 "
            + "--sampler euler_a --cfg 7 --width 64 --height 64 --out cell-3-1-1-seed2.png"), html);
        // Baseline cells have no --lora.
        Assert.Contains(ReportHtml.Escape("lorabake generate --model anime --prompt \"demo, outdoors\""), html);
    }

    [Fact]
    public void Report_shows_dataset_top_tags_buckets_and_settings()
    {
        var html = File.ReadAllText(SyntheticReport.Write(_dir));
        Assert.Contains("<tr><td>demo</td><td>2</td></tr>", html);
        Assert.Contains("<tr><td>448x640</td><td>1</td></tr>", html);
        // Regularisation subsets are listed next to the training ones.
        Assert.Contains("<tr><td>10_demo</td><td>3</td><td>10</td><td>training</td></tr>", html);
        Assert.Contains("<tr><td>reg</td><td>5</td><td>1</td><td>regularisation (balanced to the training images × repeats)</td></tr>", html);
        Assert.Contains("<tr><th>unet_lr</th><td>0.0005</td></tr>", html);
        Assert.Contains("<tr><th>lora_type</th><td>LoRA</td></tr>", html);
        Assert.Matches("Recommended: <b>epoch \\d+</b>", html);
    }

    [Fact]
    public void Quote_always_escapes_shell_specials() =>
        Assert.Equal("\"a \\\"b\\\" \\$HOME \\`x\\` \\\\\"", GenerateCommandLine.QuoteAlways("a \"b\" $HOME `x` \\"));

    [Fact]
    public void Dataset_json_reads_what_process_writes()
    {
        var path = Path.Combine(_dir, "dataset.json");
        SyntheticReport.Dataset().Write(path);
        var back = ReportInputs.ReadDataset(path)!;
        Assert.Equal(2, back.UsedCount);
        Assert.Equal(2, back.TagFrequency["10_demo"]["demo"]);
        Assert.Equal(10, back.StepsPerEpoch.Real);
        Assert.Null(ReportInputs.ReadDataset(Path.Combine(_dir, "missing.json")));
        File.WriteAllText(path, "{ \"project\": 3 ");
        Assert.Contains(path, Assert.Throws<LoraBake.Runtime.UserError>(() => ReportInputs.ReadDataset(path)).Message);
    }
}
