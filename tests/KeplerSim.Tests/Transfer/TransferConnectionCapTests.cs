using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// The bound on the connections a node serves (docs/PROTOCOL.md, "Transfer connections", "Bounded"): at the node's
/// cap, or at the cap of one remote host, the connection idle the longest is evicted to make room, and when none is
/// idle the new one is closed at once, unread; both are counted and published. The connections mid-exchange keep
/// working, and once some close new ones are served and the node's own traffic flows again. Before the bound a
/// client could open any number of connections and hold each for the served idle limit (docs/SECURITY.md).
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferConnectionCapTests
{
    private const int C = KeplerCluster.ChunkSize;

    private static readonly KeplerOptions Capped = CraftedExchange.Quiet with
    {
        ServedConnectionsMax = 4,
        ServedConnectionsPerPeerMax = 3,
        TransferTimeoutMicroseconds = 60 * SimHarness.Second, // A held store waits for its bytes all test long.
    };

    [Fact]
    public void With_every_connection_mid_exchange_one_past_a_cap_is_refused_and_traffic_recovers_when_some_close()
    {
        using var cluster = KeplerCluster.Create(3, seed: 71, Capped, membership: MembershipMode.Static);
        var n2 = cluster.Kepler(1);
        var events = Watch(cluster);

        // n1 holds three stores waiting for their bytes; its fourth connection is closed before any reply (the
        // node serves 3 < 4, none of them idle).
        var (held, fourth) = Open(cluster, from: 0, count: 3, seed: 10);
        Assert.Null(fourth);
        Assert.Equal(3, n2.ServedTransferConnections);
        Assert.Equal((0, 1), (n2.Metrics.TransferConnectionsRefusedNode, n2.Metrics.TransferConnectionsRefusedPeer));
        Assert.Equal([new TransferConnectionRefused("n1", "peer", 3, 1)], events);

        // Another host is still served up to the node's cap of four; its next is refused by the node's cap.
        var (other, fifth) = Open(cluster, from: 2, count: 1, seed: 20);
        Assert.Null(fifth);
        Assert.Equal(4, n2.ServedTransferConnections);
        Assert.Equal((1, 1), (n2.Metrics.TransferConnectionsRefusedNode, n2.Metrics.TransferConnectionsRefusedPeer));
        Assert.Equal(new TransferConnectionRefused("n3", "node", 4, 2), events[^1]);
        Assert.Equal(4, n2.Metrics.TransferConnectionsServedPeak);
        Assert.Equal(3, n2.Metrics.TransferConnectionsServedPerPeerPeak);
        Assert.Equal(0, n2.Metrics.TransferConnectionsEvictedNode + n2.Metrics.TransferConnectionsEvictedPeer);

        // The held stores were not disturbed: each completes, durable.
        Assert.All(Finish(cluster, 0, held), reply => Assert.True(reply.Durable, reply.Error));
        Assert.All(Finish(cluster, 2, other), reply => Assert.True(reply.Durable, reply.Error));

        // Every connection closes: n2 forgets them, and n1's own client writes through it.
        cluster.Sim.Await(cluster.Nodes[0].Spawn(async runtime =>
        {
            held.Concat(other).ToList().ForEach(h => h.Connection.Dispose());
            await runtime.Clock.DelayAsync(SimHarness.Second);
        }), "the held connections to close");
        Assert.Equal(0, n2.ServedTransferConnections);
        var data = KeplerCluster.Bytes(3 * C, 72);
        cluster.Put(0, "after-the-flood", data, Durability.All);
        Assert.Equal(data, cluster.Get(1, "after-the-flood"));
        Assert.Equal(2, events.Count);
        Assert.Equal(0, cluster.Nodes[1].Runtime!.Supervisor.Failed);
    }

    [Fact]
    public void At_a_cap_the_connection_idle_the_longest_is_evicted_for_the_new_one()
    {
        using var cluster = KeplerCluster.Create(3, seed: 73, Capped, membership: MembershipMode.Static);
        var n2 = cluster.Kepler(1);
        var events = Watch(cluster);

        // n1's three connections each finish an exchange and idle; a fourth from n1 evicts n1's oldest.
        var idle = Connect(cluster, from: 0, count: 3);
        var fourth = Connect(cluster, from: 0, count: 1);
        Assert.Equal([false, true, true, true], Ask(cluster, 0, [.. idle, .. fourth]));
        Assert.Equal([new TransferConnectionEvicted("n1", "peer", 1)], events);
        Assert.Equal(3, n2.ServedTransferConnections);

        // n3's first fills the node's cap; its second evicts the oldest idle connection of any host: n1's second.
        var other = Connect(cluster, from: 2, count: 2);
        Assert.Equal(new TransferConnectionEvicted("n1", "node", 2), events[^1]);
        Assert.Equal([false, true, true], Ask(cluster, 0, [idle[1], idle[2], fourth[0]]));
        Assert.Equal([true, true], Ask(cluster, 2, other));
        Assert.Equal((1, 1), (n2.Metrics.TransferConnectionsEvictedNode, n2.Metrics.TransferConnectionsEvictedPeer));
        Assert.Equal(0, n2.Metrics.TransferConnectionsRefusedNode + n2.Metrics.TransferConnectionsRefusedPeer);
        Assert.Equal(4, n2.ServedTransferConnections);
        Assert.Equal(0, cluster.Nodes[1].Runtime!.Supervisor.Failed);
    }

    [Fact]
    public void A_reused_connection_in_its_second_exchange_is_not_evicted_though_it_went_idle_first()
    {
        // Stryker (TransferServer.cs:308, the idle mark dropped when a request arrives on a reused connection): the
        // oldest idle connection stayed evictable in its second exchange, and a new connection at the cap closed it
        // mid-store. A connection's first exchange goes another way, which the tests above cover.
        using var cluster = KeplerCluster.Create(3, seed: 74, Capped, membership: MembershipMode.Static);
        var n2 = cluster.Kepler(1);
        var events = Watch(cluster);
        var idle = Connect(cluster, from: 0, count: 3);
        var store = cluster.Sim.Await(cluster.Nodes[0].Spawn(_ => HoldStoreAsync(idle[0], "n1", 75)),
            "the oldest connection's second exchange to start");

        // At n1's cap of three a fourth evicts the oldest connection that is idle: the second, not the first.
        var fourth = Connect(cluster, from: 0, count: 1);
        Assert.Equal([new TransferConnectionEvicted("n1", "peer", 1)], events);
        Assert.Equal([false, true, true], Ask(cluster, 0, [idle[1], idle[2], fourth[0]]));
        Assert.All(Finish(cluster, 0, [store]), reply => Assert.True(reply.Durable, reply.Error));
        Assert.Equal(3, n2.ServedTransferConnections);
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

    /// <summary>Collects the refusals and evictions n2 publishes.</summary>
    private static List<Core.Diagnostics.KeplerEvent> Watch(KeplerCluster cluster)
    {
        var events = new List<Core.Diagnostics.KeplerEvent>();
        cluster.Nodes[1].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is TransferConnectionRefused or TransferConnectionEvicted)
            {
                events.Add(e);
            }
        });
        return events;
    }

    /// <summary>A store sent to n2 and answered "ready": it waits for its bytes (mid-exchange).</summary>
    private sealed record HeldStore(IStreamConnection Connection, string ChunkId, byte[] Data);

    /// <summary>
    /// Opens <paramref name="count"/> connections from node <paramref name="from"/> to n2, each holding a store that
    /// waits for its bytes, then one more: its answer, null when n2 closed it unread.
    /// </summary>
    private static (List<HeldStore> Held, TransferFrame? Extra) Open(KeplerCluster cluster, int from, int count,
        int seed) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async runtime =>
        {
            var held = new List<HeldStore>();
            for (var i = 0; i < count; i++)
            {
                var connection = await runtime.Streams.ConnectAsync(cluster.Nodes[1].TransferAddress);
                held.Add(await HoldStoreAsync(connection, cluster.Nodes[from].Name, seed + i));
            }

            using var extra = await runtime.Streams.ConnectAsync(cluster.Nodes[1].TransferAddress);
            await extra.SendAsync(new GetManifestRequest("absent"));
            var reply = await extra.ReceiveAsync();
            return (held, reply is { } bytes ? FrameCodec.Decode(bytes) : null);
        }), $"{count} held stores and one more connection from {cluster.Nodes[from].Name}");

    /// <summary>Sends a store of a chunk of bytes <paramref name="seed"/> on <paramref name="connection"/> and waits for
    /// n2's "ready": the store then waits for its bytes (mid-exchange).</summary>
    private static async Task<HeldStore> HoldStoreAsync(IStreamConnection connection, string from, int seed)
    {
        var data = KeplerCluster.Bytes(C, seed);
        var store = new HeldStore(connection, ChunkStore.IdOf(data), data);
        await connection.SendAsync(new StoreChunkRequest(store.ChunkId, C, from, null));
        await connection.ReceiveAsync<StoreChunkReady>();
        return store;
    }

    /// <summary>Sends each held store its bytes; the replies.</summary>
    private static List<StoreChunkReply> Finish(KeplerCluster cluster, int from, List<HeldStore> held) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async _ =>
        {
            var replies = new List<StoreChunkReply>();
            foreach (var store in held)
            {
                await store.Connection.SendAsync(new ChunkDataFrame(store.Data));
                replies.Add(await store.Connection.ReceiveAsync<StoreChunkReply>());
            }

            return replies;
        }), "the held stores to finish");

    /// <summary>
    /// Opens <paramref name="count"/> connections from node <paramref name="from"/> to n2, one after another, each
    /// finishing one exchange (then idle).
    /// </summary>
    private static List<IStreamConnection> Connect(KeplerCluster cluster, int from, int count) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async runtime =>
        {
            var connections = new List<IStreamConnection>();
            for (var i = 0; i < count; i++)
            {
                var connection = await runtime.Streams.ConnectAsync(cluster.Nodes[1].TransferAddress);
                connections.Add(connection);
                await connection.SendAsync(new GetManifestRequest("absent"));
                Assert.Null((await connection.ReceiveAsync<GetManifestReply>()).Manifest);
            }

            return connections;
        }), $"{count} connections from {cluster.Nodes[from].Name}");

    /// <summary>Whether each of node <paramref name="from"/>'s <paramref name="connections"/> still answers.</summary>
    private static List<bool> Ask(KeplerCluster cluster, int from, List<IStreamConnection> connections) =>
        cluster.Sim.Await(cluster.Nodes[from].Spawn(async _ =>
        {
            var answered = new List<bool>();
            foreach (var connection in connections)
            {
                await connection.SendAsync(new GetManifestRequest("absent"));
                answered.Add(await connection.ReceiveAsync() is { } reply
                    && FrameCodec.Decode(reply) is GetManifestReply { Manifest: null });
            }

            return answered;
        }), "the connections to answer again");
}
