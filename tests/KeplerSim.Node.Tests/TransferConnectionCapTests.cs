using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KeplerSim.Core.Protocol;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// The bound on the transfer connections a kepler-node process serves (TRANSFER_CONNECTIONS_MAX,
/// TRANSFER_CONNECTIONS_PER_PEER_MAX; docs/PROTOCOL.md, "Transfer connections"), over real sockets on loopback: two
/// client hosts, 127.0.0.1 and 127.0.0.2, open plain connections to a single node without a cluster key. One past a
/// host's cap, or past the node's, is closed unread and counted in /metrics and the log; the connections being
/// served keep answering, and once some close a new one is served again. Before the bound every connection was
/// served (each of these assertions on a refusal failed).
/// </summary>
[Trait("Category", "Real")]
public sealed class TransferConnectionCapTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly IPAddress OtherHost = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task Connections_past_the_caps_are_closed_unread_counted_and_served_again_once_some_close()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("cap", dir);
        using var node = new ProcessNode(spec, spec.Environment([spec], ("TRANSFER_CONNECTIONS_MAX", "6"),
            ("TRANSFER_CONNECTIONS_PER_PEER_MAX", "4")));
        await node.StartAsync();
        using var client = Nodes.Client(spec.Url);
        var held = new List<TcpClient>();
        try
        {
            // 127.0.0.1: four served, the fifth closed before any answer (the node serves 4 < 6).
            for (var i = 0; i < 4; i++)
            {
                held.Add(await OpenAsync(spec, IPAddress.Loopback));
                Assert.True(await AnswersAsync(held[^1]), $"connection {i + 1} from 127.0.0.1 is served");
            }

            using (var fifth = await OpenAsync(spec, IPAddress.Loopback))
            {
                Assert.False(await AnswersAsync(fifth), "the fifth connection from 127.0.0.1 is closed unread");
            }

            Assert.Equal(1, await RefusedAsync(client, "peer"));

            // 127.0.0.2: served up to the node's cap of six, then refused by it.
            for (var i = 0; i < 2; i++)
            {
                held.Add(await OpenAsync(spec, OtherHost));
                Assert.True(await AnswersAsync(held[^1]), $"connection {i + 1} from 127.0.0.2 is served");
            }

            using (var seventh = await OpenAsync(spec, OtherHost))
            {
                Assert.False(await AnswersAsync(seventh), "a seventh connection is closed unread");
            }

            Assert.Equal(1, await RefusedAsync(client, "node"));
            Assert.Equal(6, await Nodes.MetricAsync(client, "kepler_transfer_connections_served"));
            foreach (var connection in held)
            {
                Assert.True(await AnswersAsync(connection), "a served connection still answers");
            }

            await Wait.WaitUntil(() => node.Output.Any(l => l.Contains("transfer.refused", StringComparison.Ordinal)),
                Timeout, "a warning transfer.refused in the node's log");

            // 127.0.0.1's four close: once the node has let them go, a new one from there is served.
            held.Take(4).ToList().ForEach(c => c.Dispose());
            await Wait.WaitUntil(async () => await Nodes.MetricAsync(client, "kepler_transfer_connections_served") == 2,
                Timeout, "the node to end the four closed connections (kepler_transfer_connections_served 2)");
            using var again = await OpenAsync(spec, IPAddress.Loopback);
            Assert.True(await AnswersAsync(again), "a new connection from 127.0.0.1 is served once others closed");
            Assert.Equal(2, await RefusedAsync(client, "peer") + await RefusedAsync(client, "node"));
        }
        finally
        {
            held.ForEach(c => c.Dispose());
        }
    }

    private static async Task<TcpClient> OpenAsync(NodeSpec spec, IPAddress from)
    {
        var tcp = new TcpClient(new IPEndPoint(from, 0));
        await tcp.ConnectAsync(IPAddress.Loopback, spec.TransferPort).WaitAsync(Timeout);
        return tcp;
    }

    /// <summary>
    /// Asks for a manifest of a path nobody wrote on <paramref name="tcp"/> (the unsealed framing: 4-byte big-endian
    /// length, MessagePack): whether the node answered, false when it closed (or reset) the connection instead.
    /// </summary>
    private static async Task<bool> AnswersAsync(TcpClient tcp)
    {
        var stream = tcp.GetStream();
        try
        {
            var payload = FrameCodec.Encode(new GetManifestRequest("absent"));
            var header = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(header, payload.Length);
            await stream.WriteAsync(header);
            await stream.WriteAsync(payload);
            var length = new byte[4];
            await stream.ReadExactlyAsync(length).AsTask().WaitAsync(Timeout);
            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(length)];
            await stream.ReadExactlyAsync(body).AsTask().WaitAsync(Timeout);
            return FrameCodec.Decode(body) is GetManifestReply { Manifest: null };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            return false;
        }
    }

    private static Task<long> RefusedAsync(HttpClient client, string limit) =>
        Nodes.MetricAsync(client, $"kepler_transfer_connections_refused_total{{limit=\"{limit}\"}}");
}
