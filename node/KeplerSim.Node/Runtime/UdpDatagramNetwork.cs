using System.Net;
using System.Net.Sockets;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// Datagrams over one UDP socket bound to the gossip port. Arrivals are posted to the loop; anything larger than
/// <see cref="MaxDatagramBytes"/> is dropped and counted, never handed to core.
/// </summary>
public sealed class UdpDatagramNetwork : IDatagramNetwork, IDisposable
{
    /// <summary>The MTU budget: fits an Ethernet frame with IP and UDP headers to spare.</summary>
    public const int DatagramBytesMax = 1400;

    private const int ReceiveBufferBytes = 64 * 1024;

    private readonly EventLoop _loop;
    private readonly TransportCounters _counters;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _stop = new();
    private Action<NetAddress, ReadOnlyMemory<byte>>? _receiver;

    /// <summary>Binds <paramref name="bind"/> and starts receiving.</summary>
    public UdpDatagramNetwork(EventLoop loop, TransportCounters counters, IPEndPoint bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        _loop = loop;
        _counters = counters;
        _socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(bind);
        var local = (IPEndPoint)_socket.LocalEndPoint!;
        LocalAddress = new NetAddress(local.Address.ToString(), local.Port);
        _ = ReceiveLoopAsync();
    }

    /// <inheritdoc />
    public NetAddress LocalAddress { get; }

    /// <inheritdoc />
    public int MaxDatagramBytes => DatagramBytesMax;

    /// <inheritdoc />
    public void Send(NetAddress target, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxDatagramBytes)
        {
            throw new ArgumentException($"datagram of {payload.Length} bytes exceeds {MaxDatagramBytes}",
                nameof(payload));
        }

        try
        {
            // A UDP send does not block on the peer; the payload is copied into the kernel before this returns.
            _socket.SendTo(payload, SocketFlags.None, new IPEndPoint(IPAddress.Parse(target.Host), target.Port));
            _counters.DatagramSent();
        }
        catch (Exception e) when (e is SocketException or FormatException)
        {
            // Fire and forget: an unreachable or unparsable target is a lost datagram.
        }
    }

    /// <inheritdoc />
    public void SetReceiver(Action<NetAddress, ReadOnlyMemory<byte>> receiver)
    {
        _loop.AssertOnLoop("SetReceiver");
        _receiver = receiver;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[ReceiveBufferBytes];
        EndPoint any = new IPEndPoint(_socket.AddressFamily == AddressFamily.InterNetworkV6
            ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP port unreachable from an earlier send, and the like: keep receiving.
                continue;
            }

            Deliver(buffer.AsSpan(0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
        }
    }

    private void Deliver(ReadOnlySpan<byte> data, IPEndPoint from)
    {
        _counters.DatagramReceived();
        if (data.Length > MaxDatagramBytes)
        {
            _counters.DatagramOversized();
            return;
        }

        var copy = data.ToArray();
        var source = new NetAddress(from.Address.ToString(), from.Port);
        _loop.Post(() =>
        {
            _loop.AssertOnLoop("datagram receiver");
            if (_receiver is { } receiver)
            {
                receiver(source, copy);
            }
            else
            {
                _counters.DatagramUnhandled();
            }
        });
    }
}
