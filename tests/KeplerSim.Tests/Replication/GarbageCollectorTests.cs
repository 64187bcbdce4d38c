using KeplerSim.Core.Node;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// Garbage collection counts what it did: each node's collected counter is exactly the copies it deleted, the
/// rows go with the files, and later runs find nothing more. Written for the open Stryker survivor of
/// Replication/GarbageCollector.cs (docs/TESTING.md "Replication survivors"): the node tests only asked for "at
/// least" that many, which a row left behind (collected again and again) or a miscount satisfied.
/// </summary>
[Trait("Category", "Fast")]
public sealed class GarbageCollectorTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const long Second = SimHarness.Second;

    [Fact]
    public void Each_node_counts_exactly_the_copies_it_collected_and_keeps_no_row_for_them()
    {
        // Kills in GarbageCollector.cs: "Collected++" removed or as "--"; in KeplerNode.Orphans.cs (where the
        // collector's row deletion moved): "Meta.DeleteChunk(id)" removed (the file went, the row stayed).
        var options = new KeplerOptions
        {
            ChunkSizeBytes = C,
            WriteTimeoutMicroseconds = 5 * Second,
            AntiEntropyIntervalMicroseconds = Second,
            GcGraceMicroseconds = 20 * Second,
            GcIntervalMicroseconds = 2 * Second,
        };
        using var cluster = KeplerCluster.Create(3, seed: 98, options);
        cluster.Put(0, "g", KeplerCluster.Bytes(4 * C, 1), Durability.All);
        var old = cluster.ChunksOf(0, "g").ToList();
        cluster.Put(1, "g", KeplerCluster.Bytes(4 * C, 2), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => old.All(id => cluster.Holders(id).Count == 0), 120 * Second),
            "the superseded version's chunks to be collected");

        cluster.Sim.RunFor(5 * options.GcIntervalMicroseconds); // Later runs find nothing more to collect.
        foreach (var node in cluster.Nodes)
        {
            var kepler = cluster.Kepler(node);
            Assert.Equal(old.Count, kepler.ChunksCollected);
            Assert.All(old, id => Assert.Null(kepler.Meta.GetChunk(id)));
        }
    }
}
