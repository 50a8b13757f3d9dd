using System.Security.Cryptography;
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
}
