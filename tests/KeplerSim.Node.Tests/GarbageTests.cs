using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

[Trait("Category", "Real")]
public sealed class GarbageTests
{
    private static readonly TimeSpan CountTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Garbage_on_the_udp_and_tcp_ports_never_crashes_the_node_and_is_counted()
    {
        using var dir = new TempDir();
        var spec = NodeSpec.Create("target", dir);
        await using var host = await Nodes.StartInProcessAsync(spec.Environment([]));
        using var client = Nodes.Client(host.HttpAddress);
        var random = new Random(7);

        using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            foreach (var size in new[] { 0, 1, 17, 1400, 1401, 9000, 60_000 })
            {
                var bytes = new byte[size];
                random.NextBytes(bytes);
                udp.SendTo(bytes, new IPEndPoint(IPAddress.Loopback, spec.GossipPort));
            }
        }

        var frame = new byte[64];
        random.NextBytes(frame);
        await SendTcpAsync(spec.TransferPort, Header(int.MaxValue));                 // oversized length
        await SendTcpAsync(spec.TransferPort, Header(-5));                           // negative length
        await SendTcpAsync(spec.TransferPort, [.. Header(100), .. frame[..10]]);     // truncated frame
        await SendTcpAsync(spec.TransferPort, [.. Header(frame.Length), .. frame]);  // garbage payload
        await SendTcpAsync(spec.TransferPort, [0x00, 0x01]);                        // truncated header
        var noise = new byte[4096];
        random.NextBytes(noise);
        await SendTcpAsync(spec.TransferPort, noise);                               // pure noise

        await Wait.WaitUntil(async () =>
                await Nodes.MetricAsync(client, "kepler_datagrams_received_total") >= 6
                && await Nodes.MetricAsync(client, "kepler_datagrams_oversized_total") >= 2
                && await Nodes.MetricAsync(client, "kepler_gossip_malformed_total") >= 3 // 1, 17, 1400 bytes
                && await Nodes.MetricAsync(client, "kepler_frames_oversized_total") >= 2
                && await Nodes.MetricAsync(client, "kepler_frames_truncated_total") >= 2
                && await Nodes.MetricAsync(client, "kepler_malformed_frames_total") >= 1,
            CountTimeout, "the garbage to be counted in /metrics");

        // Still serving, and nothing escaped onto the loop.
        using var put = await client.PutAsync("api/files/after-garbage.txt", new StringContent("still here"));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Assert.Equal("still here", await client.GetStringAsync("api/files/after-garbage.txt"));
        Assert.Equal(0, await Nodes.MetricAsync(client, "kepler_loop_errors_total"));
    }

    private static byte[] Header(int length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        return header;
    }

    private static async Task SendTcpAsync(int port, byte[] bytes)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(bytes, SocketFlags.None);
        socket.Shutdown(SocketShutdown.Send);
        // Wait for the node to close its side (it always does: bad length, end of stream, or protocol error).
        var sink = new byte[256];
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (await socket.ReceiveAsync(sink, SocketFlags.None, cancel.Token) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // Reset by the node: closed too.
        }
    }
}
