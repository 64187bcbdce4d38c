using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// An upload keeps several chunks in flight (read, hashed, written, recorded), never more than
/// <see cref="KeplerOptions.UploadChunksInFlight"/>, and a crash with chunks in flight loses no acknowledged write.
/// </summary>
[Trait("Category", "Fast")]
public sealed class UploadPipelineTests
{
    private const int C = KeplerCluster.ChunkSize;

    // Slow enough that the writes of several chunks overlap in virtual time.
    private static readonly DiskFaults SlowDisk = new() { LatencyMinMicroseconds = 500, LatencyMaxMicroseconds = 3_000 };

    private static int TmpFiles(SimNode node) =>
        node.Disk.AllFiles().Count(f => f.StartsWith(ChunkStore.TmpDirectory + "/", StringComparison.Ordinal));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Chunks_in_flight_per_upload_reach_but_never_exceed_the_limit(int limit)
    {
        using var cluster = KeplerCluster.Create(1, seed: 41,
            new KeplerOptions { ChunkSizeBytes = C, ReplicationFactor = 1, UploadChunksInFlight = limit },
            disk: SlowDisk);
        var data = KeplerCluster.Bytes(12 * C + 7, 3);
        var put = cluster.PutAsync(0, "f", data, Durability.All);
        // Ground truth from the disk: each chunk being written has its own tmp file until its rename.
        var peakTmpFiles = 0;
        Assert.True(cluster.Sim.RunUntil(() =>
        {
            peakTmpFiles = Math.Max(peakTmpFiles, TmpFiles(cluster.Nodes[0]));
            return put.IsCompleted;
        }, 30 * SimHarness.Second), "waiting for the upload to be acknowledged");
        Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        Assert.Equal(limit, peakTmpFiles);
        Assert.Equal(limit, cluster.Kepler(0).Metrics.UploadChunksInFlightPeak);
        Assert.Equal(data, cluster.Get(0, "f"));
        Assert.Equal(13, cluster.ChunksOf(0, "f").Count);
    }

    [Fact]
    public void A_waiting_upload_goes_no_faster_than_its_replication()
    {
        // Replication (20 KB/s per stream) is far slower than the local disk: without backpressure (fast) the
        // writer stores every chunk at once and queues two replications behind each.
        const int Limit = 2;
        var all = PeakQueueDuringUpload(Durability.All, Limit);
        var quorum = PeakQueueDuringUpload(Durability.Quorum, Limit);
        var fast = PeakQueueDuringUpload(Durability.Fast, Limit);
        // All: each chunk in flight has at most one entry per other owner, and none once it has its copies.
        Assert.InRange(all, 1, Limit * 2);
        // Quorum: the quorum copies hold the upload back; third copies may lag behind, but far less than fast.
        Assert.InRange(quorum, 1, fast / 2);
        Assert.Equal(2 * 24, fast);
    }

    private static long PeakQueueDuringUpload(Durability durability, int limit)
    {
        using var cluster = KeplerCluster.Create(3, seed: 43,
            new KeplerOptions { ChunkSizeBytes = C, UploadChunksInFlight = limit },
            network: new NetworkFaults { StreamBandwidthBytesPerSecond = 20_000 });
        var data = KeplerCluster.Bytes(24 * C, 5);
        var put = cluster.PutAsync(0, "slow", data, durability);
        var peakQueue = 0L;
        Assert.True(cluster.Sim.RunUntil(() =>
        {
            peakQueue = Math.Max(peakQueue, cluster.Kepler(0).QueueDepth);
            return put.IsCompleted;
        }, 60 * SimHarness.Second), $"{durability}: waiting for the upload to be acknowledged");
        Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        Assert.Equal(data, cluster.Get(2, "slow"));
        return peakQueue;
    }

    [Fact]
    public void The_upload_limit_relates_to_its_maximum()
    {
        Assert.InRange(new KeplerOptions().UploadChunksInFlight, 2, KeplerOptions.UploadChunksInFlightMax);
        new KeplerOptions { UploadChunksInFlight = KeplerOptions.UploadChunksInFlightMax }.Validate();
        Assert.Throws<ArgumentException>(() => new KeplerOptions { UploadChunksInFlight = 0 }.Validate());
        Assert.Throws<ArgumentException>(
            () => new KeplerOptions { UploadChunksInFlight = KeplerOptions.UploadChunksInFlightMax + 1 }.Validate());
    }

    /// <remarks>
    /// Regression: a file holding the same chunk twice registered its write twice for that chunk and forgot it
    /// once, so every such upload left a tracker behind for good.
    /// </remarks>
    [Fact]
    public void A_file_repeating_one_chunk_round_trips_and_leaves_no_write_tracked()
    {
        using var cluster = KeplerCluster.Create(3, seed: 42, new KeplerOptions { ChunkSizeBytes = C });
        var block = KeplerCluster.Bytes(C, 4);
        var data = Enumerable.Repeat(block, 6).SelectMany(b => b).Concat(new byte[] { 1, 2, 3 }).ToArray();
        cluster.Put(0, "repeats", data, Durability.All);
        Assert.Equal(2, cluster.ChunksOf(0, "repeats").Distinct().Count());
        Assert.Equal(0, cluster.Kepler(0).TrackedChunkCount);
        Assert.Equal(data, cluster.Get(1, "repeats"));
    }

    [Fact]
    public void A_crash_with_chunks_in_flight_loses_no_acknowledged_write()
    {
        var crashedWithSeveralInFlight = 0;
        for (ulong seed = 1; seed <= 12; seed++)
        {
            // Static members: the subject is chunks in flight at a crash, not membership; SWIM would only add probe
            // traffic and a rejoin wait to each of the 12 seeds (the node restarts within SWIM's suspicion window).
            using var cluster = KeplerCluster.Create(3, seed, disk: SlowDisk,
                options: new KeplerOptions { ChunkSizeBytes = C, UploadChunksInFlight = 4 },
                membership: MembershipMode.Static);
            var random = new DeterministicRandom(seed);
            var first = KeplerCluster.Bytes(6 * C + 1, (int)seed);
            cluster.Put(0, "first", first, Durability.Quorum);
            var acknowledged = new List<(string Path, byte[] Data)> { ("first", first) };
            var puts = Enumerable.Range(0, 3).Select(i =>
            {
                var data = KeplerCluster.Bytes((8 + i) * C + i, (int)seed * 10 + i);
                return (Path: $"p{i}", Data: data, Task: cluster.PutAsync(0, $"p{i}", data, Durability.Quorum));
            }).ToList();
            var victim = cluster.Nodes[0];
            // Crash the receiving node at a seeded moment after several of its chunks are in flight at once.
            cluster.Sim.RunUntil(() => TmpFiles(victim) >= 2, 10 * SimHarness.Second);
            crashedWithSeveralInFlight += TmpFiles(victim) >= 2 ? 1 : 0;
            cluster.Sim.RunFor(random.NextLong(0, 20_000));
            acknowledged.AddRange(puts.Where(p => p.Task.IsCompletedSuccessfully).Select(p => (p.Path, p.Data)));
            victim.Crash();
            cluster.Sim.RunFor(SimHarness.Second);
            cluster.Start(victim);
            cluster.Sim.RunFor(20 * SimHarness.Second);
            AssertEveryChunkFileIsIntact(cluster);
            foreach (var (path, data) in acknowledged)
            {
                for (var node = 0; node < 3; node++)
                {
                    Assert.Equal(data, cluster.Get(node, path));
                }
            }
        }

        Assert.Equal(12, crashedWithSeveralInFlight);
    }

    private static void AssertEveryChunkFileIsIntact(KeplerCluster cluster)
    {
        foreach (var node in cluster.Nodes)
        {
            foreach (var file in node.Disk.AllFiles().Where(f => f.StartsWith("chunks/", StringComparison.Ordinal)
                                                                 && !f.StartsWith("chunks/tmp/", StringComparison.Ordinal)))
            {
                Assert.Equal(file[(file.LastIndexOf('/') + 1)..], ChunkStore.IdOf(node.Disk.Peek(file)!));
            }

            foreach (var chunk in cluster.Kepler(node).Meta.ListChunks())
            {
                var bytes = node.Disk.Peek(ChunkStore.PathOf(chunk.Id));
                Assert.True(bytes is not null && ChunkStore.IdOf(bytes) == chunk.Id,
                    $"{node.Name} counts chunk {chunk.Id} but its disk does not hold it intact");
            }
        }
    }
}
