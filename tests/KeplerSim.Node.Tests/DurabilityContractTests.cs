using System.Net;
using System.Text.Json;
using KeplerSim.Node.Tests.Support;
using Xunit.Abstractions;

namespace KeplerSim.Node.Tests;

/// <summary>
/// The durability contract on three real processes (docs/PROTOCOL.md): a node cut off from its peers refuses
/// <c>all</c> and <c>quorum</c> (503 durability_not_met) and accepts <c>fast</c>; a node stopped with SIGTERM
/// leaves (peers show it left, not dead) and then no longer counts towards N. Regression: a node whose two
/// peers were declared dead acknowledged <c>all</c> and <c>quorum</c> with one copy (N shrank with its view).
/// The same case runs in the simulator (scenarios/regressions/isolated-node-quorum.yaml, DurabilityContractTests).
/// </summary>
[Trait("Category", "Real")]
public sealed class DurabilityContractTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task An_isolated_node_refuses_all_and_quorum_and_a_stopped_node_leaves()
    {
        using var dir = new TempDir();
        var specs = new[] { "d1", "d2", "d3" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = ("SEEDS", $"127.0.0.1:{specs[0].GossipPort}");
        var nodes = specs.Select(s => new ProcessNode(s, s.Environment([], seed, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "3"), ("SWIM_PROBE_INTERVAL_MS", "200"), ("WRITE_TIMEOUT_MS", "10000"),
            ("LOG_LEVEL", "information")))).ToList();
        try
        {
            await Task.WhenAll(nodes.Select(n => n.StartAsync()));
            await WaitForStatesAsync(specs[0], new() { ["d1"] = "alive", ["d2"] = "alive", ["d3"] = "alive" },
                "d1 to see all three alive");
            Assert.Equal(HttpStatusCode.OK, await PutAsync(specs[0], "before", "all"));

            // Isolate d1: its two peers stop answering (SIGSTOP) until d1 declares both dead.
            nodes[1].Signal("STOP");
            nodes[2].Signal("STOP");
            await WaitForStatesAsync(specs[0], new() { ["d2"] = "dead", ["d3"] = "dead" },
                "d1 to declare d2 and d3 dead");
            foreach (var durability in new[] { "all", "quorum" })
            {
                var (status, body) = await PutWithBodyAsync(specs[0], $"isolated-{durability}", durability);
                output.WriteLine($"{durability}: {(int)status} {body}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                Assert.Contains("durability_not_met", body, StringComparison.Ordinal);
            }

            Assert.Equal(HttpStatusCode.OK, await PutAsync(specs[0], "isolated-fast", "fast"));
            nodes[1].Signal("CONT");
            nodes[2].Signal("CONT");
            await WaitForStatesAsync(specs[0], new() { ["d1"] = "alive", ["d2"] = "alive", ["d3"] = "alive" },
                "d2 and d3 to come back alive on d1");

            // SIGTERM: d3 leaves and hands off; the others show it left and count two members.
            nodes[2].Signal("TERM");
            Assert.Equal(0, nodes[2].WaitForExit(Timeout));
            Assert.Contains(nodes[2].Output, line => line.Contains("left the cluster", StringComparison.Ordinal));
            foreach (var spec in specs.Take(2))
            {
                await WaitForStatesAsync(spec, new() { ["d3"] = "left" }, $"{spec.Id} to show d3 left");
            }

            Assert.Equal(HttpStatusCode.OK, await PutAsync(specs[0], "after-leave", "all"));
            Assert.Equal(2, (await GetJsonAsync(specs[0], "api/status")).GetProperty("replicationTarget").GetInt32());

            // An operator may remove a member only once it is dead; then it stops counting.
            using var client = Nodes.Client(specs[0].Url);
            using (var refused = await client.DeleteAsync("api/members/d2"))
            {
                Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
                Assert.Contains("member_not_removable", await refused.Content.ReadAsStringAsync(),
                    StringComparison.Ordinal);
            }

            nodes[1].Kill();
            await WaitForStatesAsync(specs[0], new() { ["d2"] = "dead" }, "d1 to declare d2 dead");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await PutAsync(specs[0], "alone", "all"));
            using (var removed = await client.DeleteAsync("api/members/d2"))
            {
                Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
            }

            await WaitForStatesAsync(specs[0], new() { ["d2"] = "left" }, "d1 to mark d2 left");
            Assert.Equal(1, (await GetJsonAsync(specs[0], "api/status")).GetProperty("replicationTarget").GetInt32());
            Assert.Equal(HttpStatusCode.OK, await PutAsync(specs[0], "alone", "all"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose(); // SIGKILL ends a stopped process too
            }
        }
    }

    /// <summary>
    /// Regression (chaos seed 2N1Xu8Wfoyo1, scenarios/regressions/all-acked-before-join.yaml): a node whose seeds
    /// had not answered yet knew only itself, so N = min(factor, known) was 1 and it acknowledged <c>all</c> with
    /// one copy. Now it refuses <c>all</c> and <c>quorum</c> until a seed answers, and accepts <c>fast</c>.
    /// </summary>
    [Fact]
    public async Task A_node_whose_seeds_have_not_answered_refuses_all_until_it_joins()
    {
        using var dir = new TempDir();
        var specs = new[] { "j1", "j2" }.Select(id => NodeSpec.Create(id, dir)).ToList();
        var seed = ("SEEDS", $"127.0.0.1:{specs[0].GossipPort}");
        var nodes = specs.Select(s => new ProcessNode(s, s.Environment([], seed, ("CHUNK_SIZE_MB", "1"),
            ("REPLICATION_FACTOR", "2"), ("SWIM_PROBE_INTERVAL_MS", "200"), ("WRITE_TIMEOUT_MS", "10000")))).ToList();
        try
        {
            await nodes[1].StartAsync(); // j2 joins through j1, which is not running yet
            Assert.True((await GetJsonAsync(specs[1], "api/status")).GetProperty("awaitingJoin").GetBoolean());
            foreach (var durability in new[] { "all", "quorum" })
            {
                var (status, body) = await PutWithBodyAsync(specs[1], $"unjoined-{durability}", durability);
                output.WriteLine($"{durability}: {(int)status} {body}");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                Assert.Contains("has not joined its cluster yet", body, StringComparison.Ordinal);
            }

            Assert.Equal(HttpStatusCode.OK, await PutAsync(specs[1], "unjoined-fast", "fast"));

            await nodes[0].StartAsync(); // j1 is its own seed: it starts the cluster and j2 joins it
            await WaitForStatesAsync(specs[1], new() { ["j1"] = "alive", ["j2"] = "alive" }, "j2 to join j1");
            await Wait.WaitUntil(async () => !(await GetJsonAsync(specs[1], "api/status"))
                .GetProperty("awaitingJoin").GetBoolean(), Timeout, "j2 to finish its join sync");
            Assert.Equal(HttpStatusCode.OK, await PutAsync(specs[1], "joined-all", "all"));
        }
        finally
        {
            foreach (var node in nodes)
            {
                node.Dispose();
            }
        }
    }

    private static async Task<HttpStatusCode> PutAsync(NodeSpec spec, string path, string durability) =>
        (await PutWithBodyAsync(spec, path, durability)).Status;

    private static async Task<(HttpStatusCode Status, string Body)> PutWithBodyAsync(NodeSpec spec, string path,
        string durability)
    {
        using var client = Nodes.Client(spec.Url);
        using var put = await client.PutAsync($"api/files/dc/{path}?durability={durability}",
            new ByteArrayContent(Nodes.RandomBytes(2 * 1024 * 1024 + 9)));
        return (put.StatusCode, await put.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement> GetJsonAsync(NodeSpec spec, string route)
    {
        using var client = Nodes.Client(spec.Url);
        return await Nodes.JsonAsync(await client.GetAsync(route));
    }

    private static Task WaitForStatesAsync(NodeSpec observer, Dictionary<string, string> expected, string what) =>
        Wait.WaitUntil(async () =>
        {
            var listed = (await GetJsonAsync(observer, "api/members")).EnumerateArray()
                .ToDictionary(m => m.GetProperty("id").GetString()!, m => m.GetProperty("state").GetString());
            return expected.All(e => listed.GetValueOrDefault(e.Key) == e.Value);
        }, Timeout, what);
}
