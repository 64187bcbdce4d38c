using System.Net;
using System.Security.Cryptography;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>Real processes killed with SIGKILL: no shutdown code runs.</summary>
[Trait("Category", "Real")]
public sealed class CrashTests
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A fast write is acknowledged with one durable copy while the other owners are down, so every other copy
    /// waits in the receiving node's replication queue. That node is killed -9 before it can deliver any, the
    /// owners come back, it restarts: its queue (SQLite, WAL, synchronous=FULL) drains and every replica appears.
    /// </summary>
    [Fact]
    public async Task A_node_killed_with_a_full_replication_queue_drains_it_after_restart()
    {
        using var dir = new TempDir();
        var specs = new[] { "k1", "k2", "k3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var nodes = specs.Select(s => new ProcessNode(s, s.Environment(specs, ("CHUNK_SIZE_MB", "1")))).ToList();
        try
        {
            await nodes[0].StartAsync();
            var data = Nodes.RandomBytes(8 * 1024 * 1024 + 123);
            using (var client = Nodes.Client(specs[0].Url))
            {
                using var put = await client.PutAsync("api/files/crash/fast.bin?durability=fast",
                    new ByteArrayContent(data));
                Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
                Assert.True(await Nodes.MetricAsync(client, "kepler_replication_queue_depth") > 0,
                    "with the other owners down, copies wait in the queue");
            }

            nodes[0].Kill();
            await nodes[1].StartAsync();
            await nodes[2].StartAsync();
            await nodes[0].StartAsync();

            using (var client = Nodes.Client(specs[0].Url))
            {
                await Wait.WaitUntil(async () => await Nodes.MetricAsync(client, "kepler_replication_queue_depth") == 0,
                    DrainTimeout, "k1's replication queue to drain after its restart");
            }

            // RF 3 over 3 nodes: all 9 chunks on each peer's disk, and a read from a peer returns the bytes.
            foreach (var spec in specs.Skip(1))
            {
                using var client = Nodes.Client(spec.Url);
                await Wait.WaitUntil(async () => await Nodes.MetricAsync(client, "kepler_chunks_stored") == 9,
                    DrainTimeout, $"{spec.Id} to hold all 9 chunks");
                await using var body = await client.GetStreamAsync("api/files/crash/fast.bin");
                Assert.Equal(SHA256.HashData(data), await SHA256.HashDataAsync(body));
            }
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose();
            }
        }
    }

    /// <summary>A node killed in the middle of an upload restarts cleanly: no tmp file left, still serving.</summary>
    [Fact]
    public async Task A_node_killed_mid_upload_restarts_clean()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("m1", dir);
        using var node = new ProcessNode(spec, spec.Environment([], ("CHUNK_SIZE_MB", "1")));
        await node.StartAsync();
        using (var client = Nodes.Client(spec.Url))
        {
            var stream = new KillingStream(Nodes.RandomBytes(32 * 1024 * 1024), 5 * 1024 * 1024, node.Kill);
            var upload = client.PutAsync("api/files/torn.bin", new StreamContent(stream, 64 * 1024));
            await Assert.ThrowsAnyAsync<Exception>(() => upload);
        }

        await node.StartAsync();
        using var again = Nodes.Client(spec.Url);
        await Nodes.AssertErrorAsync(await again.GetAsync("api/files/torn.bin"), 404, "not_found");
        var tmp = Path.Combine(spec.DataDir, "chunks", "tmp");
        Assert.True(!Directory.Exists(tmp) || Directory.GetFiles(tmp).Length == 0, "recovery removed tmp files");
        using var put = await again.PutAsync("api/files/after.txt", new StringContent("ok"));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
    }

    /// <summary>Serves bytes and kills the node once <c>killAt</c> bytes have been read.</summary>
    private sealed class KillingStream(byte[] data, int killAt, Action kill) : MemoryStream(data)
    {
        private bool _killed;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer,
            CancellationToken cancellationToken = default)
        {
            if (!_killed && Position >= killAt)
            {
                _killed = true;
                kill();
            }

            return await base.ReadAsync(buffer, cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (!_killed && Position >= killAt)
            {
                _killed = true;
                kill();
            }

            return base.Read(buffer, offset, count);
        }
    }
}
