using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Manifests;

[Trait("Category", "Fast")]
public sealed class ManifestSupersedesTests
{
    private static readonly VersionToken Version = new(1_000, 0, new NodeId("n1"));

    [Fact]
    public void Supersedes_round_trips_on_the_wire_and_takes_part_in_equality()
    {
        var older = new[] { new VersionToken(900, 1, new NodeId("n2")), new VersionToken(999, 0, new NodeId("n3")) };
        var manifest = Manifest.CreateTombstone(FilePath.Parse("a/b"), Version, new NodeId("n1")).Superseding(older);
        var decoded = ManifestCodec.Decode(ManifestCodec.Encode(manifest));
        Assert.Equal(manifest, decoded);
        Assert.Equal(older.Order(), decoded.Supersedes);
        Assert.NotEqual(manifest, Manifest.CreateTombstone(FilePath.Parse("a/b"), Version, new NodeId("n1")));
    }

    [Fact]
    public void A_manifest_cannot_supersede_a_version_that_is_not_older()
    {
        var tombstone = Manifest.CreateTombstone(FilePath.Parse("a"), Version, new NodeId("n1"));
        var error = Assert.Throws<InvalidManifestException>(() => tombstone.Superseding([Version]));
        Assert.Contains("not older", error.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidManifestException>(() =>
            tombstone.Superseding(Enumerable.Range(0, Manifest.SupersedesMax + 1).Select(i => new VersionToken(i, 0, new NodeId("n")))));
    }
}
