using KeplerSim.Core.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// The periodic repair scan offers every local chunk to every other owner. An owner that has the chunk on record
/// (with a file of the offered size) answers from its index while scrub re-verifies bytes, instead of reading and
/// hashing the whole chunk for every offer; with scrub off, offers verify the bytes (they are then what finds rot:
/// scenarios/regressions/corrupt-replica-scrub-off.yaml).
/// </summary>
[Trait("Category", "Fast")]
public sealed class RepairOfferTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const int Chunks = 20;

    private static long BytesReadDuringScans(int scrubChunksPerSecond)
    {
        using var cluster = KeplerCluster.Create(2, seed: 71, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 2, ScrubChunksPerSecond = scrubChunksPerSecond, ScrubPassMicroseconds = 0,
            RepairScanIntervalMicroseconds = SimHarness.Second,
        });
        cluster.Put(0, "f", KeplerCluster.Bytes(Chunks * C, 1), Durability.All);
        cluster.Sim.RunFor(2 * SimHarness.Second);
        var before = cluster.Nodes.Sum(n => n.Disk.BytesRead);
        cluster.Sim.RunFor(10 * SimHarness.Second);
        var read = cluster.Nodes.Sum(n => n.Disk.BytesRead) - before;
        // Every offer was answered "have it": the scans' entries drain.
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 5 * SimHarness.Second),
            "waiting for the repair scans' queue entries to drain");
        return read;
    }

    [Fact]
    public void Offers_of_chunks_on_record_are_answered_without_reading_them_while_scrub_runs()
    {
        // 10 scans of 20 chunks offered both ways: verifying every offer reads 400 chunks. With scrub at one chunk a
        // second per node, about 20 chunks are read in 10 s.
        var scrubbing = BytesReadDuringScans(scrubChunksPerSecond: 1);
        Assert.InRange(scrubbing, 1, 30L * C);
        var verifying = BytesReadDuringScans(scrubChunksPerSecond: 0);
        Assert.True(verifying >= 300L * C, $"with scrub off offers verify: {verifying / C} chunks read in 10 s");
    }
}
