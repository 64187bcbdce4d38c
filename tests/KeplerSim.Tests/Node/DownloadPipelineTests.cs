using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// A download reads and verifies the next chunk while the current one goes to the client (two pooled chunk
/// buffers whatever the size). Every range comes back exact across chunk boundaries, and a client that fails mid-way
/// gets its own failure while the prefetched chunk's buffer goes back to the pool.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DownloadPipelineTests
{
    private const int C = KeplerCluster.ChunkSize;

    private static readonly DiskFaults SlowDisk = new() { LatencyMinMicroseconds = 500, LatencyMaxMicroseconds = 3_000 };

    [Fact]
    public void Every_range_of_a_multi_chunk_file_reads_back_exact()
    {
        using var cluster = KeplerCluster.Create(1, seed: 51,
            new KeplerOptions { ChunkSizeBytes = C, ReplicationFactor = 1 }, disk: SlowDisk);
        var data = KeplerCluster.Bytes(5 * C + 123, 7);
        cluster.Put(0, "f", data, Durability.All);
        Assert.Equal(data, cluster.Get(0, "f"));
        foreach (var (offset, length) in new (long, long?)[]
                 {
                     (0, 0), (0, 1), (C - 1, 2), (C, C), (C + 1, 3 * C), (5 * C, 123), (5 * C + 123, 0),
                     (2 * C + 5, null), (data.Length - 1, 1),
                 })
        {
            var expected = data.AsSpan((int)offset, (int)(length ?? data.Length - offset)).ToArray();
            Assert.Equal(expected, cluster.Get(0, "f", offset, length));
        }
    }

    [Fact]
    public void A_client_failing_mid_download_gets_its_own_error_and_later_reads_are_intact()
    {
        using var cluster = KeplerCluster.Create(1, seed: 52,
            new KeplerOptions { ChunkSizeBytes = C, ReplicationFactor = 1 }, disk: SlowDisk);
        var data = KeplerCluster.Bytes(6 * C, 8);
        cluster.Put(0, "f", data, Durability.All);
        var node = cluster.Nodes[0];
        var failing = new FailingStream(failOnWrite: 2);
        var get = node.Spawn(_ => cluster.Kepler(node).GetAsync("f", failing));
        Assert.True(cluster.Sim.RunUntil(() => get.IsCompleted, 30 * SimHarness.Second),
            "waiting for the failing download to end");
        var error = Assert.IsType<IOException>(get.Exception?.InnerException);
        Assert.Equal(FailingStream.Message, error.Message);
        Assert.Equal(C, failing.Written); // The first chunk went out whole; the second write failed.
        Assert.Equal(data, cluster.Get(0, "f"));
    }

    /// <summary>A client that takes <paramref name="failOnWrite"/> - 1 writes, then fails.</summary>
    private sealed class FailingStream(int failOnWrite) : MemoryStream
    {
        public const string Message = "the client went away";
        private int _writes;

        public long Written { get; private set; }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (++_writes >= failOnWrite)
            {
                return ValueTask.FromException(new IOException(Message));
            }

            Written += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
