using KeplerSim.Core.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class GarbageCollectionTests
{
    private const int C = KeplerCluster.ChunkSize;

    private static readonly KeplerOptions Options = new()
    {
        ChunkSizeBytes = C,
        WriteTimeoutMicroseconds = 5 * SimHarness.Second,
        AntiEntropyIntervalMicroseconds = SimHarness.Second,
        GcGraceMicroseconds = 20 * SimHarness.Second,
        GcIntervalMicroseconds = 2 * SimHarness.Second,
    };

    [Fact]
    public void Chunks_of_overwritten_and_deleted_files_are_collected_after_the_grace_period_and_live_ones_never()
    {
        using var cluster = KeplerCluster.Create(3, seed: 51, Options);
        var old = KeplerCluster.Bytes(4 * C, 1);
        var current = KeplerCluster.Bytes(4 * C, 2);
        cluster.Put(0, "kept", old, Durability.All);
        var oldChunks = cluster.ChunksOf(0, "kept").ToList();
        cluster.Put(1, "kept", current, Durability.All);
        cluster.Put(2, "gone", KeplerCluster.Bytes(3 * C, 3), Durability.All);
        var goneChunks = cluster.ChunksOf(2, "gone").ToList();
        cluster.Sim.Await(cluster.Nodes[0].Spawn(_ => cluster.Kepler(0).DeleteAsync("gone", Durability.All)), "delete");

        // Within the grace period nothing is collected.
        cluster.Sim.RunFor(10 * SimHarness.Second);
        Assert.All(oldChunks.Concat(goneChunks), id => Assert.NotEmpty(cluster.Holders(id)));

        Assert.True(cluster.Sim.RunUntil(() => oldChunks.Concat(goneChunks).All(id => cluster.Holders(id).Count == 0),
            120 * SimHarness.Second), "waiting for garbage collection of superseded and deleted chunks");
        cluster.Sim.RunFor(SimHarness.Second); // let the collectors' counters catch up with their last delete
        foreach (var id in cluster.ChunksOf(0, "kept"))
        {
            Assert.Equal(3, cluster.DurableOwnerCopies(id));
        }

        Assert.Equal(current, cluster.Get(2, "kept"));
        var collected = cluster.Nodes.Sum(n => cluster.Kepler(n).ChunksCollected);
        Assert.True(collected >= 3 * (oldChunks.Count + goneChunks.Count), $"collected {collected} of {oldChunks.Count} + {goneChunks.Count} chunks x 3");
    }

    /// <summary>
    /// A client writes the bytes of a chunk at the moment the collector deletes that chunk (its file was
    /// superseded past the gc grace): the write waits for the deletion (KeplerNode.WaitWhileCollectedAsync), then
    /// stores a new copy. Without the wait the write could find the copy being deleted, count it as present, and
    /// be acknowledged with its only copy gone. The two chains of disk operations (the write's verification of a
    /// copy already there, the collector's stat and delete) have random latencies: each seed is another interleaving,
    /// and in about half of them the write's verification ends before the delete takes effect (seeds 57 and 58 here).
    /// </summary>
    [Theory]
    [InlineData(52)]
    [InlineData(53)]
    [InlineData(54)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(57)]
    [InlineData(58)]
    [InlineData(59)]
    public void A_write_of_a_chunk_the_collector_is_deleting_waits_for_it_and_stores_a_new_copy(ulong seed)
    {
        using var cluster = KeplerCluster.Create(1, seed, Options with { ReplicationFactor = 1 });
        var n1 = cluster.Nodes[0];
        var kepler = cluster.Kepler(0);
        var data = KeplerCluster.Bytes(C, 4);
        cluster.Put(0, "old", data, Durability.All);
        var chunk = cluster.ChunksOf(0, "old").Single();
        cluster.Sim.Await(n1.Spawn(_ => kepler.DeleteAsync("old", Durability.All)), "delete");

        Assert.True(cluster.Sim.RunUntil(() => kepler.IsCollecting(chunk), 120 * SimHarness.Second),
            "the collector to start deleting the deleted file's chunk");
        var put = cluster.PutAsync(0, "new", data, Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 10 * SimHarness.Second), "the write to end");
        Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        cluster.Sim.RunFor(SimHarness.Second);
        Assert.Equal([n1.Name], cluster.DurableCopies(chunk));
        Assert.NotNull(kepler.Meta.GetChunk(chunk));
        Assert.Equal(data, cluster.Get(0, "new"));
    }
}
