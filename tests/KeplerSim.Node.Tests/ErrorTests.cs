using System.Net;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Logging;
using KeplerSim.Node.Tests.Support;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Node.Tests;

/// <summary>The 503 errors that need a cluster in a particular state.</summary>
[Trait("Category", "Real")]
public sealed class ErrorTests
{
    /// <summary>
    /// RF 2 with the other member down: an `all` write cannot get its second copy within WRITE_TIMEOUT_MS, so it
    /// is 503 durability_not_met and its copy waits in the queue; a `fast` write needs only this node's copy.
    /// </summary>
    [Fact]
    public async Task A_write_that_cannot_reach_its_durability_is_503_durability_not_met()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("alone", dir);
        var ghost = NodeSpec.Create("ghost", dir); // listed in PEERS, never started
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([spec, ghost],
            ("REPLICATION_FACTOR", "2"), ("WRITE_TIMEOUT_MS", "300")));
        using var client = Nodes.Client(host.HttpAddress);
        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/all.bin?durability=all",
            new ByteArrayContent(Nodes.RandomBytes(1000))), 503, "durability_not_met");
        Assert.True(await Nodes.MetricAsync(client, "kepler_replication_queue_depth") > 0,
            "the missing copy stays queued for the ghost");
        using var fast = await client.PutAsync("api/files/fast.bin?durability=fast", new StringContent("one copy"));
        Assert.Equal(HttpStatusCode.OK, fast.StatusCode);
    }

    /// <summary>
    /// A metadata database that belongs to another application stops startup: the node answers /health, but
    /// /ready and every file call are 503 not_ready with the reason.
    /// </summary>
    [Fact]
    public async Task A_node_whose_startup_failed_is_503_not_ready()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("broken", dir);
        Directory.CreateDirectory(spec.DataDir);
        using (var foreign = new SqliteConnection($"Data Source={Path.Combine(spec.DataDir, "meta.db")};Pooling=False"))
        {
            foreign.Open();
            using var command = foreign.CreateCommand();
            command.CommandText = "PRAGMA application_id = 42; CREATE TABLE other(x);";
            command.ExecuteNonQuery();
        }

        await using var host = await NodeHost.StartAsync(NodeConfig.Load(spec.Environment([])), LoggingSetup.None);
        await Wait.WaitUntil(() => host.Node.Ready.IsCompleted, Nodes.StartTimeout, "startup to finish");
        Assert.True(host.Node.Ready.IsFaulted, "startup fails on a foreign database");
        using var client = Nodes.Client(host.HttpAddress);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health")).StatusCode);
        using var ready = await client.GetAsync("ready");
        var body = await ready.Content.ReadAsStringAsync();
        await Nodes.AssertErrorAsync(ready, 503, "not_ready");
        Assert.Contains("application_id", body, StringComparison.Ordinal);
        await Nodes.AssertErrorAsync(await client.PutAsync("api/files/x.txt", new StringContent("x")), 503,
            "not_ready");
        await Nodes.AssertErrorAsync(await client.GetAsync("api/files/x.txt"), 503, "not_ready");
    }
}
