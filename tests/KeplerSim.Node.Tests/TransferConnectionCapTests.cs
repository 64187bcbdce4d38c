using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using KeplerSim.Core.Protocol;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// The bound on the transfer connections a kepler-node process serves (TRANSFER_CONNECTIONS_MAX,
/// TRANSFER_CONNECTIONS_PER_PEER_MAX; docs/PROTOCOL.md, "Transfer connections", "Bounded"), over real sockets on
/// loopback: two client hosts, 127.0.0.1 and 127.0.0.2, open plain connections to a single node without a cluster
/// key. With every served connection mid-exchange (a store waiting for its bytes), one past a host's cap or the
/// node's is closed unread, counted in /metrics and logged; the held exchanges complete; once they idle, a new
/// connection evicts the oldest idle one instead; and once connections close, new ones are served again. Before
/// the bound every connection was served (each assertion on a refusal or an eviction failed).
/// </summary>
[Trait("Category", "Real")]
public sealed class TransferConnectionCapTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly IPAddress OtherHost = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Connections_past_the_caps_are_refused_or_evict_an_idle_one_and_are_counted()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("cap", dir);
        using var node = new ProcessNode(spec, spec.Environment([spec], ("TRANSFER_CONNECTIONS_MAX", "6"),
            ("TRANSFER_CONNECTIONS_PER_PEER_MAX", "4"),
            // A held store waits for its bytes far longer than the test takes (the default is 5 s).
            ("KEPLER_TEST_OPTIONS", "TransferTimeoutMicroseconds=300000000")));
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        var held = new List<HeldStore>();
        try
        {
            // 127.0.0.1: four stores held, the fifth connection closed before any answer (the node serves 4 < 6).
            for (var i = 0; i < 4; i++)
            {
                held.Add(await HoldStoreAsync(spec, IPAddress.Loopback));
            }

            using (var fifth = await OpenAsync(spec, IPAddress.Loopback))
            {
                Assert.False(await AnswersAsync(fifth), "the fifth connection from 127.0.0.1 is closed unread");
            }

            Assert.Equal(1, await CountAsync(client, "refused", "peer"));

            // 127.0.0.2: served up to the node's cap of six, then refused by it.
            for (var i = 0; i < 2; i++)
            {
                held.Add(await HoldStoreAsync(spec, OtherHost));
            }

            using (var seventh = await OpenAsync(spec, OtherHost))
            {
                Assert.False(await AnswersAsync(seventh), "a seventh connection is closed unread");
            }

            Assert.Equal(1, await CountAsync(client, "refused", "node"));
            Assert.Equal(6, await Nodes.MetricAsync(client, "kepler_transfer_connections_served"));
            await Wait.WaitUntil(() => node.Output.Any(l => l.Contains("transfer.refused", StringComparison.Ordinal)),
                Timeout, "a warning transfer.refused in the node's log");

            // The held stores complete, then idle; a new connection from 127.0.0.1 evicts its oldest idle one.
            foreach (var store in held)
            {
                Assert.True(await store.FinishAsync(), "a held store completes, durable");
            }

            using var eighth = await OpenAsync(spec, IPAddress.Loopback);
            Assert.True(await AnswersAsync(eighth), "a new connection from 127.0.0.1 is served");
            Assert.Equal(1, await CountAsync(client, "evicted", "peer"));
            Assert.False(await AnswersAsync(held[0].Tcp), "the oldest idle connection from 127.0.0.1 was closed");
            Assert.True(await AnswersAsync(held[1].Tcp), "the others still answer");

            // 127.0.0.1's connections close: once the node has let them go, new ones from there are served.
            held.Take(4).ToList().ForEach(h => h.Tcp.Dispose());
            eighth.Dispose();
            await Wait.WaitUntil(async () => await Nodes.MetricAsync(client, "kepler_transfer_connections_served") == 2,
                Timeout, "the node to end the closed connections (kepler_transfer_connections_served 2)");
            using var again = await OpenAsync(spec, IPAddress.Loopback);
            Assert.True(await AnswersAsync(again), "a new connection from 127.0.0.1 is served once others closed");
            Assert.Equal(2, await CountAsync(client, "refused", "peer") + await CountAsync(client, "refused", "node"));
        }
        finally
        {
            held.ForEach(h => h.Tcp.Dispose());
        }
    }

    private static async Task<TcpClient> OpenAsync(NodeSpec spec, IPAddress from)
    {
        var tcp = new TcpClient(new IPEndPoint(from, 0));
        await tcp.ConnectAsync(IPAddress.Loopback, spec.TransferPort).WaitAsync(Timeout);
        return tcp;
    }

    /// <summary>A connection from <paramref name="from"/> offering a chunk: the node asks for its bytes.</summary>
    private static async Task<HeldStore> HoldStoreAsync(NodeSpec spec, IPAddress from)
    {
        var tcp = await OpenAsync(spec, from);
        var data = Nodes.RandomBytes(1024);
        var id = Convert.ToHexStringLower(SHA256.HashData(data));
        var ready = await ExchangeAsync(tcp, new StoreChunkRequest(id, data.Length, "client", null));
        Assert.True(ready is StoreChunkReady, $"a store from {from} is served and asks for its bytes: {ready}");
        return new HeldStore(tcp, data);
    }

    /// <summary>A store the node waits to receive the bytes of (a connection mid-exchange).</summary>
    private sealed record HeldStore(TcpClient Tcp, byte[] Data)
    {
        public async Task<bool> FinishAsync() =>
            await ExchangeAsync(Tcp, new ChunkDataFrame(Data)) is StoreChunkReply { Durable: true };
    }

    /// <summary>Whether the node answers a manifest request on <paramref name="tcp"/> (false: it closed).</summary>
    private static async Task<bool> AnswersAsync(TcpClient tcp) =>
        await ExchangeAsync(tcp, new GetManifestRequest("absent")) is GetManifestReply { Manifest: null };

    /// <summary>Sends <paramref name="frame"/> on <paramref name="tcp"/>; the frame answered, or null when the node
    /// closed the connection instead.</summary>
    private static Task<TransferFrame?> ExchangeAsync(TcpClient tcp, TransferFrame frame) =>
        RawTransfer.ExchangeAsync(tcp.GetStream(), Timeout, frame);

    private static Task<long> CountAsync(HttpClient client, string what, string limit) =>
        Nodes.MetricAsync(client, $"kepler_transfer_connections_{what}_total{{limit=\"{limit}\"}}");
}
