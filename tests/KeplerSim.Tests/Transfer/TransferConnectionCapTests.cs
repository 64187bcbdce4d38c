using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// The bound on the connections a node serves (docs/PROTOCOL.md, "Transfer connections"): a connection past the
/// node's cap, or past the cap of one remote host, is closed at once, unread, counted and published; the ones being
/// served keep working, and once some close, new ones are served and the node's own traffic flows again. Before the
/// bound a client could open any number of connections and hold each for the served idle limit (docs/SECURITY.md).
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferConnectionCapTests
{
    private static readonly KeplerOptions Capped = CraftedExchange.Quiet with
    {
        ServedConnectionsMax = 4,
        ServedConnectionsPerPeerMax = 3,
    };

    [Fact]
    public void Connections_past_the_caps_are_refused_counted_and_published_and_traffic_recovers_when_some_close()
    {
        using var cluster = KeplerCluster.Create(3, seed: 71, Capped, membership: MembershipMode.Static);
        var n2 = cluster.Kepler(1);
        var refusals = new List<TransferConnectionRefused>();
        using var watch = cluster.Nodes[1].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is TransferConnectionRefused refused)
            {
                refusals.Add(refused);
            }
        });

        // n1 opens its cap of three, each served; its fourth is closed before any reply (the node serves 3 < 4).
        var (held, fourth) = Open(cluster, from: 0, count: 3);
        Assert.Null(fourth);
        Assert.Equal(3, n2.ServedTransferConnections);
        Assert.Equal((0, 1), (n2.Metrics.TransferConnectionsRefusedNode, n2.Metrics.TransferConnectionsRefusedPeer));
        Assert.Equal([new TransferConnectionRefused("n1", "peer", 3, 1)], refusals);

        // Another host is still served up to the node's cap of four; its next is refused by the node's cap.
        var (other, fifth) = Open(cluster, from: 2, count: 1);
        Assert.Null(fifth);
        Assert.Equal(4, n2.ServedTransferConnections);
        Assert.Equal((1, 1), (n2.Metrics.TransferConnectionsRefusedNode, n2.Metrics.TransferConnectionsRefusedPeer));
        Assert.Equal(new TransferConnectionRefused("n3", "node", 4, 2), refusals[^1]);
        Assert.Equal(4, n2.Metrics.TransferConnectionsServedPeak);
        Assert.Equal(3, n2.Metrics.TransferConnectionsServedPerPeerPeak);

        // The connections being served were not disturbed: each answers another request.
        Assert.All(Ask(cluster, 0, held), answered => Assert.True(answered));

        // n1's three close: n2 forgets them, serves a new one from n1, and n1's own client writes through it.
        cluster.Sim.Await(cluster.Nodes[0].Spawn(async runtime =>
        {
            held.ForEach(c => c.Dispose());
            await runtime.Clock.DelayAsync(SimHarness.Second);
        }), "n1's connections to close");
        Assert.Equal(1, n2.ServedTransferConnections);
        var (again, sixth) = Open(cluster, from: 0, count: 1);
        Assert.NotNull(sixth); // Served: n2 serves 2 < 4, and 1 < 3 from n1.
        cluster.Sim.Await(cluster.Nodes[0].Spawn(_ =>
        {
            again.ForEach(c => c.Dispose());
            return Task.CompletedTask;
        }), "n1's probe to close");
        var data = KeplerCluster.Bytes(3 * KeplerCluster.ChunkSize, 72);
        cluster.Put(0, "after-the-flood", data, Durability.All);
        Assert.Equal(data, cluster.Get(1, "after-the-flood"));
        Assert.Equal(2, n2.Metrics.TransferConnectionsRefusedNode + n2.Metrics.TransferConnectionsRefusedPeer);
        Assert.All(Ask(cluster, 2, other), answered => Assert.True(answered));
        Assert.Equal(0, cluster.Nodes[1].Runtime!.Supervisor.Failed);
    }

    [Fact]
    public void The_caps_are_validated_against_each_other()
    {
        Assert.InRange(KeplerOptions.ServedConnectionsPerPeerMaxDefault, 1, KeplerOptions.ServedConnectionsMaxDefault);
        new KeplerOptions { ServedConnectionsMax = 1, ServedConnectionsPerPeerMax = 1 }.Validate();
        new KeplerOptions
        {
            ServedConnectionsMax = KeplerOptions.ServedConnectionsLimit,
            ServedConnectionsPerPeerMax = KeplerOptions.ServedConnectionsLimit,
        }.Validate();
        Assert.Throws<ArgumentException>(() => new KeplerOptions { ServedConnectionsMax = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new KeplerOptions
        {
            ServedConnectionsMax = KeplerOptions.ServedConnectionsLimit + 1,
        }.Validate());
        Assert.Throws<ArgumentException>(() => new KeplerOptions { ServedConnectionsPerPeerMax = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new KeplerOptions
        {
            ServedConnectionsMax = 8,
            ServedConnectionsPerPeerMax = 9,
        }.Validate());
    }

    /// <summary>
    /// Opens <paramref name="count"/> connections from node <paramref name="from"/> to n2, each answered (served),
    /// then one more: its answer, null when n2 closed it unread.
    /// </summary>
    private static (List<IStreamConnection> Held, GetManifestReply? Extra) Open(KeplerCluster cluster, int from,
        int count) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async runtime =>
        {
            var held = new List<IStreamConnection>();
            for (var i = 0; i < count; i++)
            {
                var connection = await runtime.Streams.ConnectAsync(cluster.Nodes[1].TransferAddress);
                held.Add(connection);
                await connection.SendAsync(new GetManifestRequest("absent"));
                Assert.Null((await connection.ReceiveAsync<GetManifestReply>()).Manifest);
            }

            using var extra = await runtime.Streams.ConnectAsync(cluster.Nodes[1].TransferAddress);
            await extra.SendAsync(new GetManifestRequest("absent"));
            var reply = await extra.ReceiveAsync();
            return (held, reply is { } bytes ? (GetManifestReply)FrameCodec.Decode(bytes) : null);
        }), $"{count} connections and one more from {cluster.Nodes[from].Name}");

    /// <summary>Whether each of node <paramref name="from"/>'s <paramref name="connections"/> still answers.</summary>
    private static List<bool> Ask(KeplerCluster cluster, int from, List<IStreamConnection> connections) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async _ =>
        {
            var answered = new List<bool>();
            foreach (var connection in connections)
            {
                await connection.SendAsync(new GetManifestRequest("absent"));
                answered.Add((await connection.ReceiveAsync<GetManifestReply>()).Manifest is null);
            }

            return answered;
        }), "the served connections to answer again");
}
