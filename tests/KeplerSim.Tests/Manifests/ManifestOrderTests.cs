using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Manifests;

/// <summary>
/// The one winner rule (<see cref="ManifestOrder"/>) on its own: the version token decides, and only equal tokens fall
/// to content id, path and origin. The first Stryker run of Manifests/ found 9 of its 23 mutants alive: with the
/// version's <c>return</c> removed (so content decided over version), the tie-breaks reversed or the null ordering
/// flipped, every Manifests test still passed.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ManifestOrderTests
{
    private static readonly FilePath P = FilePath.Parse("order/p");
    private static readonly FilePath Q = FilePath.Parse("order/q");

    [Fact]
    public void The_higher_version_wins_whatever_the_content_path_or_origin()
    {
        // The older version gets the content id that orders higher, so content cannot stand in for the version.
        var (high, low) = ByContentId(Version(100, 0, "n1", 1), Version(100, 0, "n1", 2));
        var older = Version(100, 0, "n1", high.fill, Q, "n9");
        var newer = Version(100, 1, "n1", low.fill, P, "n0");
        Assert.True(string.CompareOrdinal(older.ContentId, newer.ContentId) > 0);
        Assert.True(ManifestOrder.Compare(newer, older) > 0, "a higher logical counter wins");
        Assert.True(ManifestOrder.Compare(older, newer) < 0);
        Assert.Same(newer, ManifestOrder.Winner(older, newer));
        Assert.Same(newer, ManifestOrder.Winner(newer, older));

        var laterWall = Version(101, 0, "n0", low.fill);
        var higherNode = Version(100, 5, "n9", high.fill);
        Assert.Same(laterWall, ManifestOrder.Winner(higherNode, laterWall));
    }

    [Fact]
    public void Equal_tokens_fall_to_content_id_then_path_then_origin()
    {
        var (high, low) = ByContentId(Version(100, 0, "n1", 1), Version(100, 0, "n1", 2));
        Assert.True(ManifestOrder.Compare(high.manifest, low.manifest) > 0, "content id");
        Assert.True(ManifestOrder.Compare(low.manifest, high.manifest) < 0, "content id");

        var onQ = Version(100, 0, "n1", 3, Q);
        var onP = Version(100, 0, "n1", 3, P);
        Assert.True(ManifestOrder.Compare(onQ, onP) > 0, "path");
        Assert.True(ManifestOrder.Compare(onP, onQ) < 0, "path");

        var fromN2 = Version(100, 0, "n1", 3, P, "n2");
        var fromN1 = Version(100, 0, "n1", 3, P, "n1");
        Assert.True(ManifestOrder.Compare(fromN2, fromN1) > 0, "origin");
        Assert.True(ManifestOrder.Compare(fromN1, fromN2) < 0, "origin");

        var twin = Version(100, 0, "n1", 3, P, "n1");
        Assert.NotSame(fromN1, twin);
        Assert.Equal(0, ManifestOrder.Compare(fromN1, twin));
    }

    [Fact]
    public void Null_orders_before_every_manifest_and_has_no_winner()
    {
        var m = Version(100, 0, "n1", 1);
        Assert.Equal(0, ManifestOrder.Compare(null, null));
        Assert.Equal(0, ManifestOrder.Compare(m, m));
        Assert.True(ManifestOrder.Compare(null, m) < 0);
        Assert.True(ManifestOrder.Compare(m, null) > 0);
        Assert.Throws<ArgumentNullException>(() => ManifestOrder.Winner(null!, m));
        Assert.Throws<ArgumentNullException>(() => ManifestOrder.Winner(m, null!));

        var newer = Version(200, 0, "n1", 2);
        var sorted = new List<Manifest> { newer, m };
        sorted.Sort(ManifestOrder.Comparer);
        Assert.Equal([m, newer], sorted); // Ascending: the winner sorts last.
    }

    private static ((Manifest manifest, byte fill) high, (Manifest manifest, byte fill) low) ByContentId(
        Manifest one, Manifest two)
    {
        var (a, b) = ((one, (byte)1), (two, (byte)2));
        return string.CompareOrdinal(one.ContentId, two.ContentId) > 0 ? (a, b) : (b, a);
    }

    private static Manifest Version(long wall, int logical, string node, byte fill, FilePath? path = null,
        string? origin = null)
    {
        var data = new byte[100];
        Array.Fill(data, fill);
        return Manifest.Create(path ?? P, data.Length, [ChunkId.FromContent(data)], 1024,
            new VersionToken(wall, logical, new NodeId(node)), new NodeId(origin ?? node));
    }
}
