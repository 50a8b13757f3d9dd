using System.Security.Cryptography;
using System.Text.Json;
using LoraBake.Models;

namespace LoraBake.Tests.ToyWorld;

/// <summary>
/// The Download fingerprint of builtin:toy-sd1 holds <see cref="ToySd1.Version"/>, not the file's hash, so a new
/// shipped checkpoint under the old version would leave every store serving the old one (and the demo evaluating a
/// model nobody meant). Each version is pinned to the bytes it shipped: a changed file fails here until the version
/// is bumped and its hash added.
/// </summary>
public class ToySd1VersionTests
{
    static readonly Dictionary<int, string> ShippedCheckpoints = new()
    {
        [3] = "c9e65b845851c589315ba39fd4afc843f873a1cbba2c6e2415f87d40442990f4",
        [4] = "cab24eedea5a9cb7029b4a93ae3a11ff9546111454775bde3f9f898412709b71",
    };

    [Fact]
    public void The_embedded_checkpoint_is_the_one_its_version_shipped()
    {
        using var resource = typeof(ToySd1).Assembly.GetManifestResourceStream(ToySd1.Name + "/" + ToySd1.CheckpointFile);
        Assert.NotNull(resource);
        var sha = Convert.ToHexStringLower(SHA256.HashData(resource));
        Assert.True(ShippedCheckpoints.TryGetValue(ToySd1.Version, out var expected),
            $"ToySd1.Version {ToySd1.Version} has no pinned hash: add [{ToySd1.Version}] = \"{sha}\" to ShippedCheckpoints.");
        Assert.True(expected == sha,
            $"{ToySd1.CheckpointFile} changed (SHA-256 {sha}) but ToySd1.Version is still {ToySd1.Version}: bump the version and pin the new hash.");
    }

    /// <summary>
    /// CI's Verify compares two fresh builds with each other (Nightly rewrites the lock first), so a committed demo lock
    /// made with an older base passes it; it did once (the lock named v3 while v4 shipped). The lock's Download record
    /// must name the shipped version and its bytes: regenerate the demo lock (a build from an empty store) when not.
    /// </summary>
    [Fact]
    public void The_committed_demo_lock_is_made_with_the_shipped_base()
    {
        var lockPath = Path.Combine(RepoFolder.Root, "projects", "demo", "lorabake.lock");
        using var doc = JsonDocument.Parse(File.ReadAllText(lockPath));
        var download = doc.RootElement.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "Download");
        Assert.Equal($"{ToySd1.Name}@{ToySd1.Version}", download.GetProperty("components").GetProperty("input:model.builtin").GetString());
        Assert.Equal(ShippedCheckpoints[ToySd1.Version],
            download.GetProperty("outputs").GetProperty("model/" + ToySd1.CheckpointFile).GetString());
    }
}
