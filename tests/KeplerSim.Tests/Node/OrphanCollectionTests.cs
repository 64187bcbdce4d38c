using KeplerSim.Core.Node;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Core.Write;
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

    [Fact]
    public void A_chunk_two_writes_store_at_once_cannot_be_deleted_until_both_have_recorded_it()
    {
        // Pins KeplerNode.Write.cs's count of local writes storing a chunk (a Stryker survivor: `+ 1` as `- 1`).
        // Two writes of the same bytes on one node both store the chunk, then each records it; the delete of an
        // unneeded chunk (orphan pass, GC) refuses while any of them still stores, since that write may count the
        // copy. With the count going -1, -2 the first record removed the guard while the second still stored.
        using var cluster = KeplerCluster.Create(1, seed: 62, Options, membership: MembershipMode.Static);
        var data = KeplerCluster.Bytes(C, 3);
        var (whileSecondStores, presentThen, afterBoth) = OnFirstNode(cluster, "the stores, records and deletes",
            async (kepler, write) =>
        {
            var id = (await write.StoreChunkAsync(data)).Hex;
            await write.StoreChunkAsync(data);
            write.RecordChunk(id, C, "first");
            var whileSecondStores = await kepler.DeleteUnneededAsync(id);
            var presentThen = cluster.Holders(id).Count;
            write.RecordChunk(id, C, "second");
            return (whileSecondStores, presentThen, afterBoth: await kepler.DeleteUnneededAsync(id));
        });
        Assert.False(whileSecondStores, "a delete while the second write still stored the chunk");
        Assert.Equal(1, presentThen);
        Assert.True(afterBoth, "the delete once both writes recorded the chunk (the guard lifts)");
    }

    [Fact]
    public void A_write_that_finds_its_chunk_already_here_does_not_make_that_copy_an_orphan()
    {
        // Pins the `&&` of KeplerNode.Write.cs's `created` (a Stryker survivor as `||`): a write claims a copy as
        // its own new chunk, collected as an orphan if the write is abandoned, only when its own store created the
        // file. A copy already here without a row (a file recovery has not registered yet, a corrupt copy's restore
        // under way) predates the write and someone else may count it: the gc grace governs it, not the orphan grace.
        using var cluster = KeplerCluster.Create(1, seed: 63, Options, membership: MembershipMode.Static);
        var node = cluster.Nodes[0];
        var (old, fresh) = (KeplerCluster.Bytes(C, 4), KeplerCluster.Bytes(C, 5));
        var (oldId, freshId, tracked) = OnFirstNode(cluster, "the write's stores and records", async (kepler, write) =>
        {
            await kepler.Store.WriteAsync(await kepler.Store.HashAsync(old)); // Here before the write, no row.
            var ids = new List<string>();
            foreach (var data in new[] { old, fresh })
            {
                ids.Add((await write.StoreChunkAsync(data)).Hex);
                write.RecordChunk(ids[^1], C, "w");
            }

            var tracked = kepler.OrphanCandidates;
            write.AbandonWrite("w", ids);
            return (ids[0], ids[1], tracked);
        });
        Assert.Equal(1, tracked); // The fresh chunk only.
        Assert.True(cluster.Sim.RunUntil(() => cluster.Holders(freshId).Count == 0, 10 * Second),
            "the abandoned write's own new chunk to be collected as an orphan");
        cluster.Sim.RunFor(5 * Second);
        Assert.Equal([node.Name], cluster.Holders(oldId));
        Assert.Equal(1, cluster.Kepler(node).OrphansCollected);
    }

    [Fact]
    public void A_copy_recorded_by_something_other_than_a_write_stops_being_an_orphan_candidate()
    {
        // Pins RecordLocalChunk's Untrack (a Stryker survivor when removed): a copy recorded with no write (a
        // replica a peer pushed, a read repair, a restore, recovery) may be counted by whoever sent or needs it,
        // e.g. a peer's acknowledged write of the same bytes whose manifest has not reached this node yet; so an
        // abandoned local write's claim no longer makes it an orphan, and the gc grace governs it.
        using var cluster = KeplerCluster.Create(1, seed: 64, Options, membership: MembershipMode.Static);
        var node = cluster.Nodes[0];
        var data = KeplerCluster.Bytes(C, 6);
        var (id, claimed, afterReceived) = OnFirstNode(cluster, "the store, record and the received copy",
            async (kepler, write) =>
        {
            var id = (await write.StoreChunkAsync(data)).Hex;
            write.RecordChunk(id, C, "w");
            var claimed = kepler.OrphanCandidates;
            ((ITransferServerContext)kepler).RecordReceivedChunk(id, C); // The same bytes pushed by a peer.
            var afterReceived = kepler.OrphanCandidates;
            write.AbandonWrite("w", [id]);
            return (id, claimed, afterReceived);
        });
        Assert.Equal(1, claimed);
        Assert.Equal(0, afterReceived);
        cluster.Sim.RunFor(5 * Second); // Past the orphan grace (1 s) and several orphan passes.
        Assert.Equal([node.Name], cluster.Holders(id));
        Assert.Equal(0, cluster.Kepler(node).OrphansCollected);
    }

    /// <summary>Runs <paramref name="work"/> on the first node once it is ready, with its write-path interface,
    /// and waits for its result on virtual time.</summary>
    private static T OnFirstNode<T>(KeplerCluster cluster, string what, Func<KeplerNode, IWriteContext, Task<T>> work)
    {
        var node = cluster.Nodes[0];
        return cluster.Sim.Await(node.Spawn(async _ =>
        {
            var kepler = cluster.Kepler(node);
            await kepler.Ready;
            return await work(kepler, kepler);
        }), what);
    }
}
