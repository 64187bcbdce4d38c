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
            // Scrub at its rate: the default spreads a pass over a day (SCRUB_PASS_HOURS).
            hosts.Add(await Nodes.StartInProcessAsync(specs[1].Environment(specs, ("CHUNK_SIZE_MB", "1"),
                ("REPLICATION_FACTOR", "2"), ("SCRUB_PASS_HOURS", "0"))));
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

    /// <summary>
    /// POST /api/integrity-check verifies every local chunk now (issue 18: clusterF's integrity check): with scrub
    /// off on c1, a flipped byte in one chunk file is found and replaced from c2, and the report says so.
    /// </summary>
    [Fact]
    public async Task The_integrity_check_finds_a_flipped_byte_and_repairs_it_from_a_replica()
    {
        using var dir = new TempDir();
        var specs = new[] { "i1", "i2" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        await using var one = await Nodes.StartInProcessAsync(specs[0].Environment(specs, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2"), ("SCRUB_CHUNKS_PER_SECOND", "0")));
        await using var two = await Nodes.StartInProcessAsync(specs[1].Environment(specs, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2"), ("SCRUB_CHUNKS_PER_SECOND", "0")));
        var data = Nodes.RandomBytes(3 * ChunkBytes + 10);
        var chunks = data.Chunk(ChunkBytes).Select(c => Convert.ToHexStringLower(SHA256.HashData(c))).ToList();
        using var client = Nodes.Client(one.HttpAddress);
        using (var put = await client.PutAsync("api/files/check.bin?durability=all", new ByteArrayContent(data)))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        var clean = await Nodes.JsonAsync(await client.PostAsync("api/integrity-check", null));
        Assert.Equal(4, clean.GetProperty("checked").GetInt64());
        Assert.Equal(0, clean.GetProperty("corrupt").GetInt64());

        ChunkFiles.Corrupt(specs[0].DataDir, chunks[2]);
        var report = await Nodes.JsonAsync(await client.PostAsync("api/integrity-check", null));
        Assert.Equal(4, report.GetProperty("checked").GetInt64());
        Assert.Equal(1, report.GetProperty("corrupt").GetInt64());
        Assert.Equal(1, report.GetProperty("repaired").GetInt64());
        Assert.True(ChunkFiles.HoldsIntact(specs[0].DataDir, chunks[2]), "the check restored the chunk file");
        Assert.Equal(data, await client.GetByteArrayAsync("api/files/check.bin"));
    }

    /// <summary>
    /// GET /api/under-replicated (clusterF's name) lists the chunks whose copies are still queued, with the copies
    /// known and the owners waiting: RF 2 with the second member never started.
    /// </summary>
    [Fact]
    public async Task Under_replicated_chunks_are_listed_with_their_copy_count_and_paged()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("u1", dir);
        var ghost = NodeSpec.Create("ghost", dir); // in PEERS, never started
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([spec, ghost], ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2")));
        using var client = Nodes.Client(host.HttpAddress);
        var empty = await Nodes.JsonAsync(await client.GetAsync("api/under-replicated"));
        Assert.Equal(0, empty.GetProperty("total").GetInt64());
        var data = Nodes.RandomBytes(3 * ChunkBytes + 10);
        var chunks = data.Chunk(ChunkBytes).Select(c => Convert.ToHexStringLower(SHA256.HashData(c))).Order(
            StringComparer.Ordinal).ToList();
        using (var put = await client.PutAsync("api/files/under.bin?durability=fast", new ByteArrayContent(data)))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var page = await Nodes.JsonAsync(await client.GetAsync("api/under-replicated?limit=3"
                + (after is null ? "" : "&after=" + after)));
            Assert.Equal(2, page.GetProperty("replicationTarget").GetInt32());
            Assert.Equal(4, page.GetProperty("total").GetInt64());
            Assert.Equal(4, page.GetProperty("referencedChunks").GetInt64());
            foreach (var chunk in page.GetProperty("chunks").EnumerateArray())
            {
                seen.Add(chunk.GetProperty("chunkId").GetString()!);
                Assert.Equal(1, chunk.GetProperty("copies").GetInt32());
                Assert.Equal(["ghost"], chunk.GetProperty("missing").EnumerateArray().Select(m => m.GetString()));
            }

            after = page.GetProperty("next").ValueKind == System.Text.Json.JsonValueKind.Null
                ? null
                : page.GetProperty("next").GetString();
            pages++;
        }
        while (after is not null && pages < 5);

        Assert.Equal(chunks, seen);
        Assert.Equal(2, pages);
        await Nodes.AssertErrorAsync(await client.GetAsync("api/under-replicated?limit=0"), 400, "invalid_limit");
    }
}
