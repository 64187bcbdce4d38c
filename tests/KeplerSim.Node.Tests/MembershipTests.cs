using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Node.Tests.Support;
using Xunit.Abstractions;

namespace KeplerSim.Node.Tests;

/// <summary>
/// Three kepler-node processes with SWIM membership (joined through SEEDS, no PEERS): a node killed with
/// SIGKILL is declared dead and its data re-replicated; restarted, it rejoins and the cluster converges.
/// </summary>
[Trait("Category", "Real")]
public sealed partial class MembershipTests(ITestOutputHelper output)
{
    // Generous: the machine may be loaded by other test processes; every wait ends as soon as its condition holds.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private const int ReplicationFactor = 2;

    [Fact]
    public async Task A_killed_node_is_declared_dead_re_replicated_and_rejoins_after_restart()
    {
        using var dir = new TempDir();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Phase(string name) => output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: {name}");
        var specs = new[] { "s1", "s2", "s3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = ("SEEDS", $"127.0.0.1:{specs[0].GossipPort}");
        var nodes = specs.Select(s => new ProcessNode(s, s.Environment([], seed, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2"), ("SWIM_PROBE_INTERVAL_MS", "200")))).ToList();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));

            Phase("started");
            await WaitForMembersAsync(specs, specs, "all three to see each other alive in the ring");
            Phase("joined");
            var before = Nodes.RandomBytes(5 * 1024 * 1024 + 77);
            await PutAsync(specs[0], "m/before.bin", before, "all");

            // RF 2 over 3: with s2 killed, some chunks are left with one copy until the survivors repair them.
            Phase("written");
            nodes[1].Kill();
            foreach (var reader in new[] { specs[0], specs[2] })
            {
                await AssertReadsAsync(reader, "m/before.bin", before);
            }

            Phase("read after kill");
            var survivors = new[] { specs[0], specs[2] };
            await WaitForMembersAsync(survivors, survivors, "the survivors to declare s2 dead",
                dead: specs[1].Id);
            Phase("s2 declared dead");
            foreach (var survivor in survivors)
            {
                // The same view in /metrics (polled: a survivor may briefly suspect the other on a loaded machine).
                using var client = Nodes.Client(survivor.Url);
                await Wait.WaitUntil(async () =>
                {
                    var metrics = await client.GetStringAsync("metrics");
                    return new[] { "kepler_members{state=\"dead\"} 1", "kepler_members{state=\"alive\"} 2",
                            "kepler_ring_members 2" }.All(sample => metrics.Contains(sample, StringComparison.Ordinal))
                        && PingsSent().IsMatch(metrics);
                }, Timeout, $"{survivor.Id}'s /metrics to count s2 dead and show gossip pings sent");
            }

            var during = Nodes.RandomBytes(3 * 1024 * 1024 + 5);
            await PutAsync(specs[2], "m/during.bin", during, "all");
            var chunks = ChunkIds(before).Concat(ChunkIds(during)).Distinct().ToList();
            await WaitConvergedAsync(survivors, chunks, "the survivors to hold every chunk twice (N restored)");
            Phase("repaired");
            foreach (var survivor in survivors)
            {
                var replication = await GetJsonAsync(survivor, "api/replication");
                Assert.Equal(0, replication.GetProperty("underReplicated").GetInt64());
            }

            Phase("checked");
            await nodes[1].StartAsync();
            Phase("restarted");
            await WaitForMembersAsync(specs, specs, "s2 to rejoin: alive in every member list and ring");
            Phase("rejoined");
            await WaitConvergedAsync(specs, chunks, "the three to converge: empty queues, every chunk on its owners");
            Phase("converged");
            foreach (var spec in specs)
            {
                await AssertReadsAsync(spec, "m/before.bin", before);
                await AssertReadsAsync(spec, "m/during.bin", during);
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

    [System.Text.RegularExpressions.GeneratedRegex("kepler_gossip_messages_sent_total\\{kind=\"ping\"\\} [1-9]")]
    private static partial System.Text.RegularExpressions.Regex PingsSent();

    /// <summary>The chunk ids of <paramref name="data"/> cut into 1 MiB chunks (CHUNK_SIZE_MB=1).</summary>
    private static IEnumerable<string> ChunkIds(byte[] data) => data.Chunk(1024 * 1024)
        .Select(chunk => Convert.ToHexStringLower(SHA256.HashData(chunk)));

    private static async Task PutAsync(NodeSpec spec, string path, byte[] data, string durability)
    {
        using var client = Nodes.Client(spec.Url);
        using var put = await client.PutAsync($"api/files/{path}?durability={durability}", new ByteArrayContent(data));
        Assert.True(put.StatusCode == HttpStatusCode.OK, $"put {path}: {await put.Content.ReadAsStringAsync()}");
    }

    private static async Task AssertReadsAsync(NodeSpec spec, string path, byte[] expected)
    {
        using var client = Nodes.Client(spec.Url);
        using var response = await client.GetAsync($"api/files/{path}", HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.StatusCode == HttpStatusCode.OK,
            $"read {path} from {spec.Id}: {await response.Content.ReadAsStringAsync()}");
        await using var body = await response.Content.ReadAsStreamAsync();
        var actual = await SHA256.HashDataAsync(body);
        Assert.True(SHA256.HashData(expected).AsSpan().SequenceEqual(actual),
            $"{path} read from {spec.Id} has the uploaded bytes");
    }

    private static async Task<JsonElement> GetJsonAsync(NodeSpec spec, string route)
    {
        using var client = Nodes.Client(spec.Url);
        return await Nodes.JsonAsync(await client.GetAsync(route));
    }

    /// <summary>
    /// Waits until each of <paramref name="observers"/> lists every one of <paramref name="members"/> alive and in
    /// its ring, and <paramref name="dead"/> (if given) dead and out of its ring.
    /// </summary>
    private static Task WaitForMembersAsync(IReadOnlyList<NodeSpec> observers, IReadOnlyList<NodeSpec> members,
        string what, string? dead = null) =>
        Wait.WaitUntil(async () =>
        {
            foreach (var observer in observers)
            {
                var listed = (await GetJsonAsync(observer, "api/members")).EnumerateArray()
                    .ToDictionary(m => m.GetProperty("id").GetString()!,
                        m => (State: m.GetProperty("state").GetString(), InRing: m.GetProperty("inRing").GetBoolean()));
                if (members.Any(m => listed.GetValueOrDefault(m.Id) != ("alive", true)))
                {
                    return false;
                }

                if (dead is not null && listed.GetValueOrDefault(dead) != ("dead", false))
                {
                    return false;
                }
            }

            return true;
        }, Timeout, what);

    /// <summary>
    /// Waits until every node in <paramref name="cluster"/> has an empty replication queue and every one of
    /// <paramref name="chunks"/> is intact on each of its owners in the ring of exactly these nodes.
    /// </summary>
    private static Task WaitConvergedAsync(IReadOnlyList<NodeSpec> cluster, IReadOnlyList<string> chunks,
        string what)
    {
        var ring = new HashRing(cluster.Select(s => new NodeId(s.Id)),
            new RingOptions(new KeplerOptions().VirtualNodesPerNode, ReplicationFactor));
        var dataDirs = cluster.ToDictionary(s => s.Id, s => s.DataDir);
        return Wait.WaitUntil(async () =>
        {
            foreach (var spec in cluster)
            {
                using var client = Nodes.Client(spec.Url);
                if (await Nodes.MetricAsync(client, "kepler_replication_queue_depth") != 0)
                {
                    return false;
                }
            }

            return chunks.All(chunk => ring.OwnersOf(chunk)
                .All(owner => ChunkFiles.HoldsIntact(dataDirs[owner.Value], chunk)));
        }, Timeout, what);
    }
}
