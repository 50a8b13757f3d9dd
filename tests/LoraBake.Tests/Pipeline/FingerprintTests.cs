using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Tests.Pipeline;

public class FingerprintTests
{
    private static Fingerprint Of(ModelSettings model) =>
        new FingerprintBuilder("Download", 1).AddCanonical("model", model).Build();

    [Fact]
    public void Same_inputs_give_the_same_hash_regardless_of_order()
    {
        var a = new FingerprintBuilder("S", 1).Add("x", "1").Add("y", "2").Build();
        var b = new FingerprintBuilder("S", 1).Add("y", "2").Add("x", "1").Build();
        Assert.Equal(a.Hash, b.Hash);
        Assert.Equal(64, a.Hash.Length);
        Assert.Equal(Of(new ModelSettings()).Hash, Of(new ModelSettings()).Hash);
    }

    [Fact]
    public void Every_field_name_and_version_changes_the_hash()
    {
        var baseline = Of(new ModelSettings { Source = "anime" });
        Assert.NotEqual(baseline.Hash, Of(new ModelSettings { Source = "sd15" }).Hash);
        Assert.NotEqual(baseline.Hash, Of(new ModelSettings { Source = "anime", Sha256 = new string('0', 64) }).Hash);
        Assert.NotEqual(baseline.Hash, new FingerprintBuilder("Download", 2).AddCanonical("model", new ModelSettings()).Build().Hash);
        Assert.NotEqual(baseline.Hash, new FingerprintBuilder("Process", 1).AddCanonical("model", new ModelSettings()).Build().Hash);
        Assert.Equal(FingerprintBuilder.LoraBakeVersion, baseline.Components["lorabake"]);
        Assert.DoesNotContain("+", FingerprintBuilder.LoraBakeVersion);   // not the repository's commit: committing the lock must not make stages stale
        Assert.Equal("0.1.0", FingerprintBuilder.StripBuildMetadata("0.1.0+fd6e8ffd16"));
    }

    [Fact]
    public void Values_cannot_forge_other_components()
    {
        var a = new FingerprintBuilder("S", 1).Add("x", "1\ny=2").Build();
        var b = new FingerprintBuilder("S", 1).Add("x", "1").Add("y", "2").Build();
        Assert.NotEqual(a.Hash, b.Hash);
    }

    [Fact]
    public void Canonical_sections_become_one_component_per_field_and_diff_names_the_field()
    {
        var before = Of(new ModelSettings { Sha256 = new string('a', 64) });
        var after = Of(new ModelSettings { Sha256 = new string('b', 64) });
        Assert.Equal("\"anime\"", before.Components["recipe:model.source"]);
        Assert.Equal("null", before.Components["recipe:model.vae"]);
        Assert.Equal(["recipe field model.sha256 changed"], after.Diff(before.Components));
    }

    [Fact]
    public void Lists_are_flattened_with_a_count_so_additions_show()
    {
        var a = new FingerprintBuilder("Evaluate", 1).AddCanonical("evaluation", new EvaluationSettings { Weights = [0.5, 1.0] }).Build();
        var b = new FingerprintBuilder("Evaluate", 1).AddCanonical("evaluation", new EvaluationSettings { Weights = [0.5, 1.0, 1.5] }).Build();
        Assert.Equal("0.5", a.Components["recipe:evaluation.weights[0]"]);
        Assert.Equal(["recipe field evaluation.weights.count changed", "recipe field evaluation.weights[2] added"], b.Diff(a.Components));
    }

    [Fact]
    public void With_mixes_in_upstream_fingerprints()
    {
        var own = new FingerprintBuilder("Process", 1).Add("x", "1").Build();
        var up1 = own.With([new("upstream:Download", "aaa")]);
        var up2 = own.With([new("upstream:Download", "bbb")]);
        Assert.NotEqual(up1.Hash, up2.Hash);
        Assert.Equal(["upstream stage Download changed"], up2.Diff(up1.Components));
    }
}
