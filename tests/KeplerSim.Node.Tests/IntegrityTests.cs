using System.Net;
using System.Security.Cryptography;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>Chunk files corrupted on disk behind a running node's back.</summary>
[Trait("Category", "Real")]
public sealed class IntegrityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const int ChunkBytes = 1024 * 1024;

    /// <summary>
    /// Two nodes, RF 2, every chunk on both. n1 runs without scrub, so only the read can notice its corrupt chunk:
    /// the read falls back to n2's replica, returns the right bytes and rewrites n1's copy (read repair). n2's
    /// corrupt chunk is never read; scrub finds it and restores it from n1.
    /// </summary>
    [Fact]
    public async Task A_corrupt_chunk_is_read_from_a_replica_and_repaired_by_the_read_and_by_scrub()
    {
        using var dir = new TempDir();
        var specs = new[] { "c1", "c2" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var hosts = new List<NodeHost>();
        try
        {
            hosts.Add(await Nodes.StartInProcessAsync(specs[0].Environment(specs, ("CHUNK_SIZE_MB", "1"),
                ("REPLICATION_FACTOR", "2"), ("SCRUB_CHUNKS_PER_SECOND", "0"))));
            hosts.Add(await Nodes.StartInProcessAsync(specs[1].Environment(specs, ("CHUNK_SIZE_MB", "1"),
                ("REPLICATION_FACTOR", "2"))));
            var data = Nodes.RandomBytes(3 * ChunkBytes + 1000);
            var chunks = data.Chunk(ChunkBytes).Select(c => Convert.ToHexStringLower(SHA256.HashData(c))).ToList();
            using var first = Nodes.Client(hosts[0].HttpAddress);
            using var second = Nodes.Client(hosts[1].HttpAddress);
            using (var put = await first.PutAsync("api/files/integrity.bin?durability=all", new ByteArrayContent(data)))
            {
                Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
            }

            Assert.All(chunks, c => Assert.True(ChunkFiles.HoldsIntact(specs[1].DataDir, c), $"{c} on c2"));
            var scrubbedBefore = await Nodes.MetricAsync(second, "kepler_scrub_repaired_total");

            ChunkFiles.Corrupt(specs[0].DataDir, chunks[1]);
            Assert.False(ChunkFiles.HoldsIntact(specs[0].DataDir, chunks[1]), "the chunk file is corrupt");
            Assert.Equal(data, await first.GetByteArrayAsync("api/files/integrity.bin"));
            Assert.True(ChunkFiles.HoldsIntact(specs[0].DataDir, chunks[1]), "the read rewrote the corrupt copy");
            Assert.Equal(1, await Nodes.MetricAsync(first, "kepler_read_repairs_total"));
            Assert.True(await Nodes.MetricAsync(first, "kepler_chunks_corrupt_total") >= 1, "corruption counted");

            ChunkFiles.Corrupt(specs[1].DataDir, chunks[2]);
            await Wait.WaitUntil(() => ChunkFiles.HoldsIntact(specs[1].DataDir, chunks[2]), Timeout,
                "scrub on c2 to restore its corrupt chunk file");
            await Wait.WaitUntil(async () =>
                await Nodes.MetricAsync(second, "kepler_scrub_repaired_total") > scrubbedBefore, Timeout,
                "c2 to count the scrub repair");
            Assert.Equal(0, await Nodes.MetricAsync(second, "kepler_read_repairs_total"));
            Assert.Equal(data, await second.GetByteArrayAsync("api/files/integrity.bin"));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }
}
