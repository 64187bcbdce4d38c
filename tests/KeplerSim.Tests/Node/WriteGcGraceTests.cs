using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// A peer keeps a chunk no manifest references for the gc grace only (FileWrite.RequireWithinGcGrace): a write that
/// took longer is not acknowledged. Checked twice: before the manifest goes anywhere (a slow upload is abandoned and
/// publishes nothing) and before the acknowledgement (a stall while publishing). A quick write is acknowledged
/// however late in the node's life it runs. And a chunk the writer's own disk refused fails the write.
/// </summary>
[Trait("Category", "Fast")]
public sealed class WriteGcGraceTests
{
    private const int C = KeplerCluster.ChunkSize;

    /// <summary>The shortest gc grace the options allow over a 1 s write timeout: 2.5 s.</summary>
    private static KeplerOptions ShortGrace => new()
    {
        ChunkSizeBytes = C, ReplicationFactor = 2, WriteTimeoutMicroseconds = SimHarness.Second,
        AntiEntropyIntervalMicroseconds = SimHarness.Second / 4, GcGraceMicroseconds = 5 * SimHarness.Second / 2,
    };

    [Fact]
    public void A_write_stalled_past_the_gc_grace_while_publishing_is_not_acknowledged_and_a_quick_one_is()
    {
        using var cluster = KeplerCluster.Create(2, seed: 91, ShortGrace, membership: MembershipMode.Static);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        cluster.Sim.RunFor(5 * SimHarness.Second); // Both clocks well past the grace: only a write's own time counts.
        var quick = KeplerCluster.Bytes(2 * C, 1);
        cluster.Put(0, "quick", quick, Durability.All);

        var paused = false;
        cluster.Sim.Network.StreamTap = (_, from, frame) =>
        {
            if (!paused && from == n1 && FrameCodec.Decode(frame) is PutManifestRequest)
            {
                paused = true; // n2 stops as the manifest leaves n1, for longer than the grace.
                n2.Pause();
            }
        };
        var put = cluster.PutAsync(0, "stalled", KeplerCluster.Bytes(2 * C, 2), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => paused, 10 * SimHarness.Second), "the manifest push to start");
        cluster.Sim.RunFor(3 * SimHarness.Second);
        n2.Resume();
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 30 * SimHarness.Second), "the write to end");

        var error = Assert.IsType<DurabilityNotMetException>(put.Exception?.InnerException);
        Assert.Contains("longer than the gc grace", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, cluster.Kepler(0).Metrics.WritesAcknowledged);
        Assert.Equal(1, cluster.Kepler(0).Metrics.WritesTimedOut);
        Assert.Equal(quick, cluster.Get(1, "quick"));
    }

    /// <summary>
    /// An upload over a slow link (2 kB/s: each 1 KiB chunk's copy takes about half a second, well within the 1 s
    /// write timeout, one chunk in flight) takes longer than the 2.5 s grace: it fails before its manifest exists,
    /// so no node has a version whose chunks a peer may already have collected.
    /// </summary>
    [Fact]
    public void An_upload_slower_than_the_gc_grace_is_refused_before_its_manifest_goes_anywhere()
    {
        using var cluster = KeplerCluster.Create(2, seed: 92, ShortGrace with { UploadChunksInFlight = 1 },
            membership: MembershipMode.Static);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        cluster.Sim.Network.SetLinkFaults(n1, n2, new NetworkFaults { StreamBandwidthBytesPerSecond = 2_000 });
        var put = cluster.PutAsync(0, "slow", KeplerCluster.Bytes(8 * C, 3), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 60 * SimHarness.Second), "the write to end");

        var error = Assert.IsType<DurabilityNotMetException>(put.Exception?.InnerException);
        Assert.Contains("longer than the gc grace", error.Message, StringComparison.Ordinal);
        Assert.Null(cluster.Kepler(0).Meta.GetWinner("slow"));
        Assert.Null(cluster.Kepler(1).Meta.GetWinner("slow"));
        Assert.Equal(1, cluster.Kepler(0).Metrics.WritesTimedOut);
    }

    [Fact]
    public void A_write_whose_chunk_the_local_disk_refuses_fails_and_leaves_no_version()
    {
        using var cluster = KeplerCluster.Create(1, seed: 93, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1,
        });
        var disk = cluster.Nodes[0].Disk;
        disk.Faults = disk.Faults with { CapacityBytes = disk.UsedBytes + 1 };
        var put = cluster.PutAsync(0, "full", KeplerCluster.Bytes(2 * C, 4), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 30 * SimHarness.Second), "the write to end");

        Assert.True(put.IsFaulted, "a chunk not stored here is no copy");
        Assert.IsAssignableFrom<IOException>(put.Exception?.InnerException);
        Assert.Null(cluster.Kepler(0).Meta.GetWinner("full"));
        Assert.Equal(0, cluster.Kepler(0).Metrics.WritesAcknowledged);
    }
}
