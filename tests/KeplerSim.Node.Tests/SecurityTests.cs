using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// Issue 15's attacks, on three kepler-node processes sharing a CLUSTER_KEY, by an outsider on the same host: a
/// fourth process without the key, hand-built MessagePack frames over the transfer port, and a captured gossip
/// datagram replayed. With KEPLER_TEST_WITHOUT_CLUSTER_KEY=1 the same tests run the cluster without a key, as
/// before the key existed: then every one of them fails (each attack succeeds), which is how they were checked.
/// </summary>
[Trait("Category", "Real")]
public sealed class SecurityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly bool WithoutKey =
        System.Environment.GetEnvironmentVariable("KEPLER_TEST_WITHOUT_CLUSTER_KEY") == "1";

    [Fact]
    public async Task A_fourth_process_without_the_key_never_joins_and_holds_no_chunks()
    {
        using var dir = new TempDir();
        using var cluster = await StartClusterAsync(dir);
        var data = Nodes.RandomBytes(3 * 1024 * 1024 + 11);
        await PutAsync(cluster.Specs[0], "s/data.bin", data);
        var outsiderSpec = NodeSpec.Create("outsider", dir);
        using var outsider = new ProcessNode(outsiderSpec, Environment(outsiderSpec, cluster.Seed));
        await outsider.StartAsync();

        // Until its seed s1 has dropped several of its join attempts (or, without a key, let it in).
        var seed = cluster.Specs[0];
        await Wait.WaitUntil(async () => (await MembersAsync(seed)).Contains("outsider")
                || await DroppedAsync(seed, "datagram", "version") >= 5,
            Timeout, "s1 to drop five of the outsider's join datagrams (or to list it)");
        foreach (var spec in cluster.Specs)
        {
            Assert.DoesNotContain("outsider", await MembersAsync(spec));
        }

        await PutAsync(cluster.Specs[1], "s/after.bin", Nodes.RandomBytes(2 * 1024 * 1024 + 3));
        Assert.Empty(ChunkFiles.List(outsiderSpec.DataDir));
        using var client = Nodes.Client(outsiderSpec.Url);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("api/files/s/data.bin")).StatusCode);
    }

    [Fact]
    public async Task Hand_built_frames_cannot_read_a_manifest_or_chunk_plant_a_file_or_write_a_tombstone()
    {
        using var dir = new TempDir();
        using var cluster = await StartClusterAsync(dir);
        var data = Nodes.RandomBytes(1024 * 1024 + 5);
        await PutAsync(cluster.Specs[0], "victim.bin", data);
        var target = cluster.Specs[1];
        var chunk = Convert.ToHexStringLower(SHA256.HashData(data.AsSpan(0, 1024 * 1024)));

        Assert.Null(await AskAsync(target, new GetManifestRequest("victim.bin")));
        Assert.Null(await AskAsync(target, new FetchChunkRequest(chunk)));
        var planted = "planted by an outsider"u8.ToArray();
        var plantedId = ChunkId.FromContent(planted);
        var evil = new NodeId("evil");
        Assert.Null(await AskAsync(target, new StoreChunkRequest(plantedId.ToString(), planted.Length, "evil"),
            new ChunkDataFrame(planted)));
        var far = new VersionToken(DateTimeOffset.UtcNow.AddYears(1).ToUnixTimeMilliseconds() * 1000, 0, evil);
        var manifest = Manifest.Create(FilePath.Parse("planted.txt"), planted.Length, [plantedId], 1024 * 1024, far,
            evil);
        Assert.Null(await AskAsync(target, new PutManifestRequest(ManifestCodec.Encode(manifest))));
        var tombstone = Manifest.CreateTombstone(FilePath.Parse("victim.bin"), far, evil);
        Assert.Null(await AskAsync(target, new PutManifestRequest(ManifestCodec.Encode(tombstone))));

        Assert.True(await DroppedAsync(target, "frame", "version") >= 5, "the five frames were counted");
        foreach (var spec in cluster.Specs)
        {
            using var client = Nodes.Client(spec.Url);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("api/files/planted.txt")).StatusCode);
            Assert.Equal(data, await client.GetByteArrayAsync("api/files/victim.bin"));
            Assert.False(ChunkFiles.List(spec.DataDir).ContainsKey(plantedId.ToString()), $"{spec.Id} holds it");
        }
    }

    [Fact]
    public async Task A_captured_datagram_replayed_is_dropped_and_counted()
    {
        using var dir = new TempDir();
        using var sniffer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var snifferPort = ((IPEndPoint)sniffer.Client.LocalEndPoint!).Port;
        using var cluster = await StartClusterAsync(dir, lastSeeds: $",127.0.0.1:{snifferPort}");

        // s3 also lists the sniffer as a seed, so it sends the sniffer its (sealed) join request: capture one,
        // deliver it to s1 as if it came straight from s3, then replay it.
        var captured = await sniffer.ReceiveAsync().WaitAsync(Timeout);
        var s1 = new IPEndPoint(IPAddress.Loopback, cluster.Specs[0].GossipPort);
        var before = await DroppedAsync(cluster.Specs[0], "datagram", "replay");
        await sniffer.SendAsync(captured.Buffer, s1);
        await sniffer.SendAsync(captured.Buffer, s1);
        await sniffer.SendAsync(captured.Buffer, s1);
        await Wait.WaitUntil(async () => await DroppedAsync(cluster.Specs[0], "datagram", "replay") >= before + 2,
            TimeSpan.FromSeconds(WithoutKey ? 5 : 30), "s1 to drop the two replays and count them in /metrics");
    }

    /// <summary>
    /// docs/NODE.md's rotation: every node restarts (SIGTERM, then start) with "A,B", then "B,A", then "B". While a
    /// node is down a quorum write goes to another; once it is back, an `all` write on it needs every node to open
    /// what every other seals. No write fails, and at the end a node holding only A cannot join.
    /// </summary>
    [Fact]
    public async Task Three_nodes_rotate_from_key_a_to_key_b_one_at_a_time_and_no_write_fails()
    {
        using var dir = new TempDir();
        using var cluster = await StartClusterAsync(dir);
        var newKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var writes = 0;
        foreach (var keyring in new[] { $"{Key},{newKey}", $"{newKey},{Key}", newKey })
        {
            for (var i = 0; i < cluster.Specs.Count; i++)
            {
                var spec = cluster.Specs[i];
                cluster.Nodes[i].Signal("TERM");
                Assert.Equal(0, cluster.Nodes[i].WaitForExit(Timeout));
                cluster.Nodes[i].Dispose();
                await PutAsync(cluster.Specs[(i + 1) % 3], $"r/{writes++}.bin", Nodes.RandomBytes(300_000), "quorum");
                cluster.Nodes[i] = new ProcessNode(spec, Environment(spec, cluster.Seed, ("CLUSTER_KEY", keyring)));
                await cluster.Nodes[i].StartAsync();
                await WaitAllAliveAsync(cluster.Specs, $"{spec.Id} to rejoin with keyring {Describe(keyring)}");
                await PutAsync(spec, $"r/{writes++}.bin", Nodes.RandomBytes(300_000), "all");
            }
        }

        Assert.Equal(18, writes);
        var stale = NodeSpec.Create("stale", dir);
        using var old = new ProcessNode(stale, Environment(stale, cluster.Seed, ("CLUSTER_KEY", Key)));
        await old.StartAsync();
        var seed = cluster.Specs[0];
        await Wait.WaitUntil(async () => (await MembersAsync(seed)).Contains("stale")
                || await DroppedAsync(seed, "datagram", "unknown_key") >= 5,
            Timeout, "s1 to drop five datagrams sealed with the retired key (or to list their sender)");
        Assert.DoesNotContain("stale", await MembersAsync(seed));
        string Describe(string ring) => string.Join(",", ring.Split(',').Select(k => k == Key ? "A" : "B"));
    }

    private static Dictionary<string, string?> Environment(NodeSpec spec, (string, string) seed,
        params (string, string)[] extra) =>
        spec.Environment([], [seed, ("CHUNK_SIZE_MB", "1"), ("REPLICATION_FACTOR", "3"),
            ("SWIM_PROBE_INTERVAL_MS", "200"), ("HANDOFF_TIMEOUT_MS", "0"), .. extra]);

    private static Task WaitAllAliveAsync(IReadOnlyList<NodeSpec> specs, string what) =>
        Wait.WaitUntil(async () =>
        {
            foreach (var spec in specs)
            {
                if ((await MembersAsync(spec)).Count(id => specs.Any(s => s.Id == id)) < specs.Count)
                {
                    return false;
                }
            }

            return true;
        }, Timeout, what);

    /// <summary>Three nodes with the key (SWIM through s1); s3's SEEDS end with <paramref name="lastSeeds"/>.</summary>
    private static async Task<Cluster> StartClusterAsync(TempDir dir, string lastSeeds = "")
    {
        var specs = new[] { "s1", "s2", "s3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = ("SEEDS", $"127.0.0.1:{specs[0].GossipPort}");
        var key = WithoutKey ? ("INSECURE", "0") : ("CLUSTER_KEY", Key);
        var nodes = specs.Select(s => new ProcessNode(s,
            Environment(s, s.Id == "s3" ? (seed.Item1, seed.Item2 + lastSeeds) : seed, key))).ToList();
        var cluster = new Cluster(specs, nodes, seed);
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            await WaitAllAliveAsync(specs, "the three nodes to see each other alive");
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends hand-built frames on a fresh connection to the transfer port, as the unauthenticated protocol framed
    /// them (4-byte big-endian length, MessagePack), and returns the first frame answered, or null when the node
    /// closed the connection without answering.
    /// </summary>
    private static async Task<TransferFrame?> AskAsync(NodeSpec target, params TransferFrame[] frames)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, target.TransferPort);
        return await RawTransfer.ExchangeAsync(tcp.GetStream(), Timeout, frames);
    }

    private static async Task PutAsync(NodeSpec spec, string path, byte[] data, string durability = "all")
    {
        using var client = Nodes.Client(spec.Url);
        using var put = await client.PutAsync($"api/files/{path}?durability={durability}",
            new ByteArrayContent(data));
        Assert.True(put.StatusCode == HttpStatusCode.OK, $"put {path}: {await put.Content.ReadAsStringAsync()}");
    }

    private static async Task<List<string>> MembersAsync(NodeSpec spec)
    {
        using var client = Nodes.Client(spec.Url);
        var members = await Nodes.JsonAsync(await client.GetAsync("api/members"));
        return members.EnumerateArray().Where(m => m.GetProperty("state").GetString() == "alive")
            .Select(m => m.GetProperty("id").GetString()!).ToList();
    }

    private static async Task<long> DroppedAsync(NodeSpec spec, string kind, string reason)
    {
        using var client = Nodes.Client(spec.Url);
        return await Nodes.MetricAsync(client, $"kepler_auth_dropped_total{{kind=\"{kind}\",reason=\"{reason}\"}}");
    }

    private sealed record Cluster(List<NodeSpec> Specs, List<ProcessNode> Nodes, (string, string) Seed)
        : IDisposable
    {
        public void Dispose()
        {
            foreach (var node in Nodes)
            {
                node.Dispose();
            }
        }
    }
}
