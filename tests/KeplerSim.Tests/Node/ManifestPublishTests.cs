using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// The manifest's own acknowledgement count (KeplerNode.PublishManifestAsync): a write is acknowledged only once its
/// manifest is durable on as many nodes as its chunks needed copies. A manifest push that breaks is no
/// acknowledgement, even when every chunk copy arrived: the write fails and says how far the manifest got.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ManifestPublishTests
{
    private const int C = KeplerCluster.ChunkSize;

    [Fact]
    public void A_manifest_push_that_breaks_is_not_counted_and_the_all_write_fails()
    {
        // Static members, replication factor 2: the 'all' write needs its chunk and its manifest on n1 and n2.
        using var cluster = KeplerCluster.Create(2, seed: 62,
            new KeplerOptions { ChunkSizeBytes = C, ReplicationFactor = 2 }, membership: MembershipMode.Static);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        var cut = false;
        cluster.Sim.Network.StreamTap = (_, from, frame) =>
        {
            if (!cut && from == n1 && FrameCodec.Decode(frame) is PutManifestRequest)
            {
                cut = true; // The manifest leaves n1 as the link goes down: it never arrives.
                cluster.Sim.Network.Partition([n1], [n2]);
            }
        };
        var data = KeplerCluster.Bytes(2 * C, 1);
        var put = cluster.PutAsync(0, "m", data, Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 60 * SimHarness.Second), "the write to end");

        Assert.True(cut, "the manifest push was cut");
        var error = Assert.IsType<DurabilityNotMetException>(put.Exception?.InnerException);
        Assert.Contains("reached 1 of 2", error.Message, StringComparison.Ordinal);
        Assert.All(cluster.ChunksOf(0, "m"), id => Assert.Equal(2, cluster.DurableCopies(id).Count));
        Assert.Null(cluster.Kepler(1).Meta.GetWinner("m"));
        Assert.Equal(0, cluster.Kepler(0).Metrics.WritesAcknowledged);
    }
}
