using LoraBake.Models.Checkpoints;
using LoraBake.Pipeline;
using static TorchSharp.torch;

namespace LoraBake.Tests.Pipeline;

/// <summary>
/// How one stage of a rebuild is judged against the lock: bytes where the numerics environment is the lock's,
/// sketches within the stated tolerance where it is not.
/// </summary>
public class VerifyToleranceTests : IDisposable
{
    readonly TempFolder _dir = new("lorabake-verifytol-");
    public void Dispose() => _dir.Dispose();

    const string Here = "libtorch 2.10.0.0; CPU A; 2 threads; convolutions guarded";
    const string Elsewhere = "libtorch 2.10.0.0; CPU B; 4 threads; convolutions onednn";

    /// <summary>A stage record whose network.safetensors is <c>w·(1 + relative·noise)</c>, hashed and sketched for real.</summary>
    LockFile.StageRecord Record(string numerics, double relative)
    {
        var g = new Generator(9);
        var w = randn(new long[] { 32, 48 }, generator: g);
        var noise = randn(w.shape, generator: g);
        var path = Path.Combine(_dir, $"net-{Guid.NewGuid():N}.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["lora.down"] = w + relative * noise * w.norm() / noise.norm() });
        var sketch = OutputSketch.Compute(path)!.ToText();
        return new LockFile.StageRecord("Train-Epoch-01", "fp", new Dictionary<string, string>(),
            new Dictionary<string, string> { ["network.safetensors"] = Hashing.Sha256File(path), ["state.json"] = "s" },
            new Dictionary<string, long>(), new Dictionary<string, string> { ["network.safetensors"] = sketch }, numerics);
    }

    [Fact]
    public void Identical_bytes_are_identical_whatever_the_environment()
    {
        var (differences, verdict) = Verifier.Compare(Record(Here, 0), Record(Elsewhere, 0));
        Assert.Empty(differences);
        Assert.Equal(VerifyVerdict.Identical, verdict.Verdict);
    }

    [Fact]
    public void In_the_same_environment_any_byte_difference_differs()
    {
        var (differences, verdict) = Verifier.Compare(Record(Here, 0), Record(Here, 1e-6));
        Assert.Equal(VerifyVerdict.Differs, verdict.Verdict);
        Assert.Contains("same numerics environment", Assert.Single(differences).Actual);
    }

    [Fact]
    public void In_another_environment_a_small_difference_is_equal_within_tolerance_and_a_large_one_differs()
    {
        double small = VerifyTolerance.For("tensors") / 10;
        var (none, within) = Verifier.Compare(Record(Here, 0), Record(Elsewhere, small));
        Assert.Empty(none);
        Assert.Equal(VerifyVerdict.WithinTolerance, within.Verdict);
        Assert.InRange(within.MaxRelativeDifference, small / 2, small * 2);

        var (differences, verdict) = Verifier.Compare(Record(Here, 0), Record(Elsewhere, 0.5));
        Assert.Equal(VerifyVerdict.Differs, verdict.Verdict);
        Assert.Contains("rel Δ", Assert.Single(differences).Actual);
    }

    [Fact]
    public void A_lock_without_sketches_cannot_be_compared_within_a_tolerance()
    {
        var old = Record(Here, 0) with { Sketches = new Dictionary<string, string>(), Numerics = null };
        var (differences, verdict) = Verifier.Compare(old, Record(Elsewhere, 1e-6));
        Assert.Equal(VerifyVerdict.Differs, verdict.Verdict);
        Assert.Contains("older LoraBake", Assert.Single(differences).Actual);
    }
}
