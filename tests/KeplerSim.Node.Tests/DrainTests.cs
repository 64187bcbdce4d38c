using System.Net;
using System.Security.Cryptography;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>Decommissioning a node (issue 18): <c>POST /api/drain</c> leaves, hands every chunk off, then exits.</summary>
[Trait("Category", "Real")]
public sealed class DrainTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Three processes with SWIM, RF 2. Draining d3 answers only once its hand-off is done: at that moment both
    /// remaining nodes hold every chunk intact (no copy was left behind on d3), d3's process exits 0, and the others
    /// list it as left (not dead).
    /// </summary>
    [Fact]
    public async Task A_drained_node_hands_every_chunk_off_then_leaves_and_exits()
    {
        using var dir = new TempDir();
        var specs = new[] { "d1", "d2", "d3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = ("SEEDS", $"127.0.0.1:{specs[0].GossipPort}");
        var nodes = specs.Select(s => new ProcessNode(s, s.Environment([], seed, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2"), ("SWIM_PROBE_INTERVAL_MS", "200")))).ToList();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            await Wait.WaitUntil(async () => (await Task.WhenAll(specs.Select(AliveCountAsync))).All(c => c == 3),
                Timeout, "all three to see each other alive");
            var data = Nodes.RandomBytes(6 * 1024 * 1024 + 99);
            var chunks = data.Chunk(1024 * 1024).Select(c => Convert.ToHexStringLower(SHA256.HashData(c))).ToList();
            using (var client = Nodes.Client(specs[0].Url))
            using (var put = await client.PutAsync("api/files/d/data.bin?durability=all", new ByteArrayContent(data)))
            {
                Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
            }

            var held = chunks.Count(c => ChunkFiles.HoldsIntact(specs[2].DataDir, c));
            Assert.True(held > 0, "d3 owns some of the chunks before the drain (else the test proves nothing)");
            using (var drained = Nodes.Client(specs[2].Url))
            {
                var report = await Nodes.JsonAsync(await drained.PostAsync("api/drain?timeout_ms=60000", null));
                Assert.True(report.GetProperty("complete").GetBoolean(), report.ToString());
                Assert.Equal(0, report.GetProperty("queueLeft").GetInt64());
            }

            foreach (var chunk in chunks)
            {
                Assert.True(ChunkFiles.HoldsIntact(specs[0].DataDir, chunk), $"{chunk} intact on d1 after the drain");
                Assert.True(ChunkFiles.HoldsIntact(specs[1].DataDir, chunk), $"{chunk} intact on d2 after the drain");
            }

            Assert.Equal(0, nodes[2].WaitForExit(Timeout));
            foreach (var spec in specs.Take(2))
            {
                await Wait.WaitUntil(async () => await StateOfAsync(spec, "d3") == "left", Timeout,
                    $"{spec.Id} to list d3 as left");
                using var client = Nodes.Client(spec.Url);
                Assert.Equal(data, await client.GetByteArrayAsync("api/files/d/data.bin"));
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

    private static async Task<int> AliveCountAsync(NodeSpec spec)
    {
        using var client = Nodes.Client(spec.Url);
        return (await Nodes.JsonAsync(await client.GetAsync("api/members"))).EnumerateArray()
            .Count(m => m.GetProperty("state").GetString() == "alive");
    }

    private static async Task<string?> StateOfAsync(NodeSpec spec, string id)
    {
        using var client = Nodes.Client(spec.Url);
        return (await Nodes.JsonAsync(await client.GetAsync("api/members"))).EnumerateArray()
            .Where(m => m.GetProperty("id").GetString() == id).Select(m => m.GetProperty("state").GetString())
            .FirstOrDefault();
    }
}
