using KeplerSim.Core.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// Garbage collection with conflict versions present: a concurrent write that lost a split brain is kept as a
/// conflict version, never silently dropped, so its chunks are live and must survive every collection, while
/// history (superseded versions) of the same cluster is collected. The generated chaos property never ran GC
/// (gc grace defaulted to an hour), so nothing guarded this.
/// </summary>
[Trait("Category", "Fast")]
public sealed class GcConflictVersionTests
{
    private const int C = KeplerCluster.ChunkSize;

    private static readonly KeplerOptions Options = new()
    {
        ChunkSizeBytes = C,
        WriteTimeoutMicroseconds = 2 * SimHarness.Second,
        AntiEntropyIntervalMicroseconds = SimHarness.Second,
        GcGraceMicroseconds = 10 * SimHarness.Second,
        GcIntervalMicroseconds = SimHarness.Second,
    };

    [Fact]
    public void Chunks_of_a_conflict_version_survive_garbage_collection_while_history_is_collected()
    {
        using var cluster = KeplerCluster.Create(3, seed: 61, Options);
        var loser = KeplerCluster.Bytes(3 * C, 1);
        var winner = KeplerCluster.Bytes(3 * C + 7, 2);
        cluster.Sim.Network.Partition([cluster.Nodes[0]], cluster.Nodes.Skip(1).ToList());
        cluster.Put(0, "p", loser, Durability.Fast);
        cluster.Sim.RunFor(SimHarness.Second);
        cluster.Put(1, "p", winner, Durability.Quorum);
        var loserChunks = cluster.ChunksOf(0, "p").ToList();

        // History that garbage collection must reclaim, so the test sees collection at work.
        cluster.Put(1, "h", KeplerCluster.Bytes(2 * C, 3), Durability.Quorum);
        var history = cluster.ChunksOf(1, "h").ToList();
        cluster.Put(1, "h", KeplerCluster.Bytes(2 * C, 4), Durability.Quorum);
        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => Enumerable.Range(0, 3).All(n => Versions(cluster, n).Count == 2),
            60 * SimHarness.Second), "waiting for the conflict version of 'p' to reach every node");

        // Well past the grace: history is gone, the conflict version's chunks stay on all three owners.
        Assert.True(cluster.Sim.RunUntil(() => history.All(id => cluster.Holders(id).Count == 0),
            60 * SimHarness.Second), "waiting for garbage collection of the superseded version of 'h'");
        cluster.Sim.RunFor(3 * Options.GcGraceMicroseconds);
        Assert.True(cluster.Nodes.Sum(n => cluster.Kepler(n).ChunksCollected) >= history.Count,
            "garbage collection ran");
        Assert.All(loserChunks, id => Assert.Equal(3, cluster.DurableOwnerCopies(id)));
        for (var node = 0; node < 3; node++)
        {
            var versions = Versions(cluster, node);
            Assert.Equal(2, versions.Count);
            Assert.Equal(winner, cluster.Get(node, "p"));
            Assert.Equal(loser, Get(cluster, node, "p", versions[1].Version));
        }
    }

    private static IReadOnlyList<FileVersionInfo> Versions(KeplerCluster cluster, int node) =>
        cluster.Sim.Await(cluster.Nodes[node].Spawn(_ => cluster.Kepler(node).VersionsAsync("p")), "versions of p");

    private static byte[] Get(KeplerCluster cluster, int node, string path, string version)
    {
        var buffer = new MemoryStream();
        cluster.Sim.Await(cluster.Nodes[node].Spawn(_ => cluster.Kepler(node).GetAsync(path, buffer, version: version)),
            "get the conflict version");
        return buffer.ToArray();
    }
}
