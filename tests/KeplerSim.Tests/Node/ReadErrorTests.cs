using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class ReadErrorTests
{
    private const int C = KeplerCluster.ChunkSize;

    /// <summary>
    /// Regression (kepler-sim swarm scenarios/slow/chaos-swarm.yaml, seeds 3, 4, 9 and 11 with --swarm): an I/O
    /// error reading the local copy of a chunk failed the whole GET with DiskIOException, although every other
    /// owner held the chunk (acknowledged_writes_readable failed). A local read error now falls back to replicas.
    /// </summary>
    [Fact]
    public void A_local_read_error_is_served_from_a_replica()
    {
        using var cluster = KeplerCluster.Create(3, seed: 21);
        var data = KeplerCluster.Bytes(3 * C + 5, 7);
        cluster.Put(0, "f.bin", data, Durability.All);
        cluster.Nodes[1].Disk.Faults = new DiskFaults { ReadErrorProbability = 1.0 };
        Assert.Equal(data, cluster.Get(1, "f.bin"));
    }
}
