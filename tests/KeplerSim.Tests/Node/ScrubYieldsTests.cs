using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// Scrub is background work: while a client upload or download runs on the node it verifies at most one chunk
/// per <see cref="KeplerOptions.ScrubBusyIntervalMicroseconds"/>, and goes back to its own rate afterwards.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ScrubYieldsTests
{
    private const int C = KeplerCluster.ChunkSize;

    [Fact]
    public void Scrub_slows_to_one_chunk_a_second_during_an_upload_and_resumes_after()
    {
        // A slow disk makes the upload last many virtual seconds.
        var slow = new DiskFaults { LatencyMinMicroseconds = 20_000, LatencyMaxMicroseconds = 40_000 };
        using var cluster = KeplerCluster.Create(1, seed: 61, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1, ScrubChunksPerSecond = 50, ScrubPassMicroseconds = 0,
            UploadChunksInFlight = 1,
        }, disk: slow);
        cluster.Put(0, "stored", KeplerCluster.Bytes(20 * C, 1), Durability.All);
        var kepler = cluster.Kepler(0);

        var put = cluster.PutAsync(0, "big", KeplerCluster.Bytes(200 * C, 2), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => kepler.ClientTransfersInFlight == 1, 10 * SimHarness.Second),
            "waiting for the upload to start");
        var before = kepler.ScrubCounts.Verified;
        var start = cluster.Sim.Now;
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 600 * SimHarness.Second),
            "waiting for the slow upload to finish");
        Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        var busySeconds = (cluster.Sim.Now - start) / (double)SimHarness.Second;
        var busyVerified = kepler.ScrubCounts.Verified - before;
        Assert.True(busySeconds > 5, $"the upload took only {busySeconds:F1} s: too short to measure scrub");
        // At most one chunk a second (plus the step already scheduled when the upload began).
        Assert.InRange(busyVerified, 1, (long)busySeconds + 2);

        before = kepler.ScrubCounts.Verified;
        cluster.Sim.RunFor(2 * SimHarness.Second);
        // Idle again: back to its own rate (50/s, each step a few slow disk reads), far above one a second.
        Assert.True(kepler.ScrubCounts.Verified - before >= 10,
            $"scrub verified {kepler.ScrubCounts.Verified - before} chunks in 2 idle seconds");
    }

    /// <summary>
    /// An idle node is quiet (issue 18): scrub re-hashed a 52-chunk store every ~3 s at its old fixed 20 chunks/s.
    /// With a pass floor it verifies the whole store at most once per pass: 20 chunks, pass 200 s → one chunk per
    /// 10 s, whatever the chunk rate cap allows.
    /// </summary>
    [Fact]
    public void Scrub_spreads_one_pass_over_the_pass_period_when_idle()
    {
        using var cluster = KeplerCluster.Create(1, seed: 62, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1, ScrubChunksPerSecond = 50,
            ScrubPassMicroseconds = 200 * SimHarness.Second,
        });
        cluster.Put(0, "stored", KeplerCluster.Bytes(20 * C, 1), Durability.All);
        var kepler = cluster.Kepler(0);
        // The node started with an empty store: it looks again after a minute, then paces 20 chunks over 200 s.
        cluster.Sim.RunFor(65 * SimHarness.Second);
        var before = kepler.ScrubCounts.Verified;
        cluster.Sim.RunFor(100 * SimHarness.Second);
        // 100 s at one chunk per 10 s: 10 (± the step in flight), where the rate cap alone would allow 5,000.
        Assert.InRange(kepler.ScrubCounts.Verified - before, 9, 11);
    }

    /// <summary>The byte cap paces scrub too: chunks of C bytes at C/2 bytes per second take 2 s each.</summary>
    [Fact]
    public void Scrub_reads_at_most_its_bandwidth()
    {
        using var cluster = KeplerCluster.Create(1, seed: 63, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1, ScrubChunksPerSecond = 50, ScrubPassMicroseconds = 0,
            ScrubBytesPerSecond = C / 2,
        });
        cluster.Put(0, "stored", KeplerCluster.Bytes(20 * C, 1), Durability.All);
        var kepler = cluster.Kepler(0);
        cluster.Sim.RunFor(5 * SimHarness.Second);
        var before = kepler.ScrubCounts.Verified;
        cluster.Sim.RunFor(40 * SimHarness.Second);
        Assert.InRange(kepler.ScrubCounts.Verified - before, 19, 21);
    }
}
