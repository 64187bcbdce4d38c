using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Node;

namespace KeplerSim.Tests.Manifests;

/// <summary>
/// One winner rule: the node's reconcile picks the version <see cref="ManifestOrder"/> picks, also on the tie the
/// SQL order used to break differently.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ManifestOrderReconcileTests
{
    /// <summary>
    /// Two versions of a path tie on wall time and logical counter, issued by node ids that order differently as
    /// UTF-16 code units (ManifestOrder, <see cref="VersionToken"/>) and as UTF-8 bytes (SQLite's <c>ORDER BY
    /// version_node DESC</c>): U+FFFF is above the surrogate U+D800 of U+10000 in UTF-16, below its UTF-8 lead
    /// byte F0. Reconcile used to take the first row of the SQL order, so it crowned the other version than
    /// ManifestOrder (checked: with the old Reconcile this test fails, the winner is the U+10000 node's version).
    /// </summary>
    [Fact]
    public void Reconcile_picks_the_manifest_order_winner_on_a_node_id_tie_sql_orders_differently()
    {
        using var cluster = KeplerCluster.Create(1, seed: 3);
        var kepler = cluster.Kepler(0);
        var path = FilePath.Parse("tie/file");
        var wall = kepler.Clock.Now().WallMicroseconds;
        var bmp = Version(wall, "n\uFFFF", path, 1);
        var astral = Version(wall, "n\U00010000", path, 2);
        Assert.True(ManifestOrder.Compare(bmp, astral) > 0, "ManifestOrder: the U+FFFF node's token is higher");
        Assert.True(string.CompareOrdinal("n\uFFFF", "n\U00010000") > 0);

        foreach (var order in new[] { new[] { bmp, astral }, [astral, bmp] })
        {
            using var fresh = KeplerCluster.Create(1, seed: 3);
            var node = fresh.Kepler(0);
            foreach (var manifest in order)
            {
                node.ApplyManifest(manifest);
            }

            var winner = node.Meta.GetWinner(path.Value);
            Assert.NotNull(winner);
            Assert.Equal(bmp.Version.Node, winner.VersionNode);
            Assert.Equal(ManifestOrder.Winner(bmp, astral).ContentId, winner.ContentId);
        }
    }

    private static Manifest Version(long wall, string node, FilePath path, byte fill)
    {
        var data = new byte[100];
        Array.Fill(data, fill);
        var id = ChunkId.FromContent(data);
        return Manifest.Create(path, data.Length, [id], 1024, new VersionToken(wall, 0, new NodeId(node)),
            new NodeId(node));
    }
}
