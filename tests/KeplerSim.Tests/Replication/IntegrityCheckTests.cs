using KeplerSim.Core.Node;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// The operator's integrity check (<see cref="KeplerNode.CheckIntegrityAsync"/>, <c>POST /api/integrity-check</c>)
/// in the simulator: it counts exactly what it checked, found and repaired, and says so as scrub does (a
/// <see cref="ScrubFound"/> per bad copy). Written for the Stryker survivors of Replication/Scrubber.cs's shared
/// check (an intact chunk reported repaired, the event removed); the real-process IntegrityTests are outside
/// the mutation filter.
/// </summary>
[Trait("Category", "Fast")]
public sealed class IntegrityCheckTests
{
    [Fact]
    public void The_check_reports_exactly_the_corrupt_copies_and_replaces_them()
    {
        var options = new KeplerOptions { ChunkSizeBytes = KeplerCluster.ChunkSize, ScrubPassMicroseconds = 0 };
        using var cluster = KeplerCluster.Create(3, seed: 71, options);
        var data = KeplerCluster.Bytes(6 * KeplerCluster.ChunkSize, 7);
        cluster.Put(0, "i", data, Durability.All);
        var node = cluster.Nodes[1];
        var found = new List<ScrubFound>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is ScrubFound f)
            {
                found.Add(f);
            }
        });

        var clean = Check(cluster, node);
        Assert.Equal(new IntegrityReport(6, 0, 0, 0, 0), clean);
        Assert.Empty(found);

        var victims = cluster.ChunksOf(0, "i").Take(2).ToList();
        Assert.All(victims, id => Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(id))));
        var report = Check(cluster, node);
        Assert.Equal(new IntegrityReport(6, 2, 0, 2, 0), report);
        Assert.Equal(victims.Order(StringComparer.Ordinal), found.Select(f => f.ChunkId).Order(StringComparer.Ordinal));
        Assert.All(found, f => Assert.True(f.Repaired));
        Assert.Equal(new IntegrityReport(6, 0, 0, 0, 0), Check(cluster, node));
        Assert.Equal(data, cluster.Get(1, "i"));
    }

    private static IntegrityReport Check(KeplerCluster cluster, KeplerSim.Sim.Kernel.SimNode node) =>
        cluster.Sim.Await(node.Spawn(_ => cluster.Kepler(node).CheckIntegrityAsync()), "the integrity check");
}
