using KeplerSim.Core.Node;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// Orphan collection through the write path (docs/PROTOCOL.md, "Orphan chunks"): a write that fails before its
/// manifest exists leaves its new chunks on the writer and on the owner it pushed them to; both delete them once the
/// orphan grace has passed, while a chunk an acknowledged write holds stays everywhere. Only the orphan-cleanup
/// scenario and the real-process OrphanTests checked this, neither of which Stryker's node run runs, so the claim a
/// write makes on a copy it created (KeplerNode.Write.cs, the transfer server's ChunkClaimed) was never tested.
/// </summary>
[Trait("Category", "Fast")]
public sealed class OrphanCollectionTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const long Second = SimHarness.Second;

    private static readonly KeplerOptions Options = new()
    {
        ChunkSizeBytes = C,
        WriteTimeoutMicroseconds = 2 * Second,
        TransferTimeoutMicroseconds = Second,
        RetryBaseMicroseconds = 100_000,
        RetryMaxMicroseconds = 500_000,
        OrphanGraceMicroseconds = Second,
        AntiEntropyIntervalMicroseconds = 600 * Second,
        RepairScanIntervalMicroseconds = 3_600 * Second,
    };

    [Fact]
    public void A_failed_writes_new_chunks_are_collected_on_the_writer_and_its_peer_and_a_held_chunk_stays()
    {
        // Static members: n3 stays an owner while cut off, so the 'all' write cannot be met.
        using var cluster = KeplerCluster.Create(3, seed: 61, Options, membership: MembershipMode.Static);
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        var held = KeplerCluster.Bytes(C, 1);
        cluster.Put(0, "held", held, Durability.All);

        cluster.Sim.Network.Partition([n1], [n3]);
        var fresh = KeplerCluster.Bytes(2 * C, 2);
        var put = cluster.PutAsync(0, "failed", [.. held, .. fresh], Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 30 * Second), "the write to fail");
        Assert.IsType<DurabilityNotMetException>(put.Exception?.InnerException);
        var heldId = ChunkStore.IdOf(held);
        var newIds = new[] { fresh[..C], fresh[C..] }.Select(s => ChunkStore.IdOf(s)).ToList();
        Assert.All(newIds, id => Assert.Equal([n1.Name, n2.Name], cluster.Holders(id))); // Pushed to n2, not n3.

        Assert.True(cluster.Sim.RunUntil(() => newIds.All(id => cluster.Holders(id).Count == 0), 60 * Second),
            "the failed write's new chunks to be collected as orphans on n1 and n2");
        cluster.Sim.RunFor(Second); // The last delete's directory fsync, then its count.
        Assert.Equal(2, cluster.Kepler(0).OrphansCollected);
        Assert.Equal(2, cluster.Kepler(1).OrphansCollected);
        Assert.All(newIds, id => Assert.Null(cluster.Kepler(0).Meta.GetChunk(id)));
        Assert.Equal([n1.Name, n2.Name, n3.Name], cluster.Holders(heldId));
        Assert.Equal(0, cluster.Kepler(0).OrphanCandidates);
        Assert.Equal(0, cluster.Kepler(1).OrphanCandidates);
    }
}
