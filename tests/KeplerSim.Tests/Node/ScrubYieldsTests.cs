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
            ChunkSizeBytes = C, ReplicationFactor = 1, ScrubChunksPerSecond = 50, UploadChunksInFlight = 1,
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
}
