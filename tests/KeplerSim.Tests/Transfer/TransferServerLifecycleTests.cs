using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// A transfer server's connections over its life: each is held while it is served and forgotten when it ends (a
/// long-running node keeps nothing per connection it served), and closing the server closes the ones it serves and
/// serves no new one. The server under test runs on a node of its own ("host", over n2's state: only requests that
/// touch no state are sent). Written for the Stryker survivors of TransferServer.cs (docs/TESTING.md, "Transfer/
/// survivors, fifth session").
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferServerLifecycleTests
{
    private static readonly KeplerOptions Quiet = new()
    {
        ChunkSizeBytes = KeplerCluster.ChunkSize,
        ReplicationFactor = 2,
        AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
        RepairScanIntervalMicroseconds = 3_600 * SimHarness.Second,
    };

    [Fact]
    public void Served_connections_are_forgotten_when_they_end_and_closed_when_the_server_closes()
    {
        using var cluster = KeplerCluster.Create(2, seed: 67, Quiet, membership: MembershipMode.Static);
        TransferServer? made = null;
        var host = cluster.Sim.AddNode("host", runtime => new Host(runtime, cluster.Kepler(1), s => made = s));
        host.Start();
        var server = made!;
        var n1 = cluster.Nodes[0];

        // Five connections, one request each, closed by the peer: none is held once they ended.
        var (whileOpen, afterEnded) = cluster.Sim.Await(n1.Spawn(async runtime =>
        {
            var whileOpen = new List<int>();
            for (var i = 0; i < 5; i++)
            {
                using var connection = await runtime.Streams.ConnectAsync(host.TransferAddress);
                await Ask(connection);
                whileOpen.Add(server.ServedConnections);
            }

            await runtime.Clock.DelayAsync(100_000);
            return (whileOpen, server.ServedConnections);
        }), "five served connections");
        Assert.All(whileOpen, count => Assert.Equal(1, count));
        Assert.Equal(0, afterEnded);

        // One left open and idle, well inside the served idle limit: closing the server closes it at once.
        var open = cluster.Sim.Await(n1.Spawn(async runtime =>
        {
            var connection = await runtime.Streams.ConnectAsync(host.TransferAddress);
            await Ask(connection);
            return connection;
        }), "an idle served connection");
        cluster.Sim.Await(host.Spawn(_ =>
        {
            server.Close();
            return Task.CompletedTask;
        }), "the server to close");
        var (closed, next) = cluster.Sim.Await(n1.Spawn(async runtime =>
        {
            var closed = await open.ReceiveAsync();
            open.Dispose();

            // A connection after the close is not served.
            using var late = await runtime.Streams.ConnectAsync(host.TransferAddress);
            await late.SendAsync(new FetchChunkRequest("not-a-chunk-id"));
            return (closed, await late.ReceiveAsync());
        }), "the served connection to close", timeoutMicroseconds: SimHarness.Second);
        Assert.Null(closed);
        Assert.Null(next);

        // One that sends nothing is closed at once too, not held for its first frame (the 5 s transfer timeout):
        // a server that waited would take that frame, a SWIM stream's included, after it closed
        // (the Stryker survivor TransferServer.cs:118, `_closed ? null : receive` taken as always receive).
        var silent = cluster.Sim.Await(n1.Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(host.TransferAddress);
            return await connection.ReceiveAsync();
        }), "a silent connection after the close to be closed", timeoutMicroseconds: SimHarness.Second);
        Assert.Null(silent);
        Assert.Equal(0, server.ServedConnections);
    }

    /// <summary>A request that touches no state: an invalid chunk id is answered "not found".</summary>
    private static async Task Ask(IStreamConnection connection)
    {
        await connection.SendAsync(new FetchChunkRequest("not-a-chunk-id"));
        Assert.False((await connection.ReceiveAsync<FetchChunkReply>()).Found);
    }

    private sealed class Host(NodeRuntime runtime, ITransferServerContext context, Action<TransferServer> made)
        : INodeProgram
    {
        public Task StartAsync()
        {
            var channel = new TransferChannel(runtime, Quiet, new NodeMetrics(),
                node => throw new InvalidOperationException($"the host opens no connection (to {node})"));
            var server = new TransferServer(context, channel, runtime, Quiet);
            server.Listen();
            made(server);
            return Task.CompletedTask;
        }
    }
}
