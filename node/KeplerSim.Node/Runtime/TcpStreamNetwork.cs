using System.Net;
using System.Net.Sockets;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>Timeouts of the TCP transport.</summary>
/// <param name="ConnectTimeout">How long a connect may take before it counts as refused.</param>
/// <param name="IdleReadTimeout">How long a connection may stay silent while a receive waits.</param>
/// <param name="WriteTimeout">How long one frame may take to reach the socket.</param>
public sealed record StreamTimeouts(TimeSpan ConnectTimeout, TimeSpan IdleReadTimeout, TimeSpan WriteTimeout)
{
    /// <summary>Defaults: core applies its own, shorter, per-request timeouts on top of these.</summary>
    public static StreamTimeouts Default { get; } =
        new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(120), TimeSpan.FromSeconds(60));
}

/// <summary>
/// Framed streams over TCP: each frame is a 4-byte big-endian length and its payload. A listener on the transfer
/// port hands accepted connections to core on the loop.
/// </summary>
public sealed class TcpStreamNetwork : IStreamNetwork, IDisposable
{
    /// <summary>The largest frame: 1 MiB.</summary>
    public const int FrameBytesMax = 1024 * 1024;

    private readonly EventLoop _loop;
    private readonly TransportCounters _counters;
    private readonly StreamTimeouts _timeouts;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private Action<IStreamConnection>? _acceptor;

    /// <summary>
    /// Binds <paramref name="bind"/>; listening starts when core sets its acceptor, so that until then a connect is
    /// refused (the seam's contract, as in the simulator). Listening from here had the host accept connections
    /// while core recovered its store and close them unread: a peer saw a clean end of stream where it should have
    /// seen a refused connect (SWIM counted it as a malformed push-pull reply).
    /// </summary>
    public TcpStreamNetwork(EventLoop loop, TransportCounters counters, IPEndPoint bind,
        StreamTimeouts? timeouts = null)
    {
        ArgumentNullException.ThrowIfNull(bind);
        _loop = loop;
        _counters = counters;
        _timeouts = timeouts ?? StreamTimeouts.Default;
        _listener = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(bind);
        var local = (IPEndPoint)_listener.LocalEndPoint!;
        LocalAddress = new NetAddress(local.Address.ToString(), local.Port);
    }

    /// <inheritdoc />
    public NetAddress LocalAddress { get; }

    /// <inheritdoc />
    public int MaxFrameBytes => FrameBytesMax;

    /// <inheritdoc />
    public Task<IStreamConnection> ConnectAsync(NetAddress target, CancellationToken cancellationToken = default) =>
        _loop.RunIoAsync(async () =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            timeout.CancelAfter(_timeouts.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(target.Host, target.Port, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                cancellationToken.ThrowIfCancellationRequested();
                var why = e is SocketException s ? s.SocketErrorCode.ToString() : "timed out";
                throw new StreamBrokenException($"connect to {target} failed: {why}");
            }

            _counters.ConnectionOpened();
            return (IStreamConnection)new TcpStreamConnection(_loop, _counters, _timeouts, socket, target);
        });

    /// <inheritdoc />
    public void SetAcceptor(Action<IStreamConnection> acceptor)
    {
        _loop.AssertOnLoop("SetAcceptor");
        var first = _acceptor is null;
        _acceptor = acceptor;
        if (first)
        {
            _listener.Listen(512);
            _ = AcceptLoopAsync();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            socket.NoDelay = true;
            _counters.ConnectionAccepted();
            var remote = (IPEndPoint)socket.RemoteEndPoint!;
            var connection = new TcpStreamConnection(_loop, _counters, _timeouts, socket,
                new NetAddress(remote.Address.ToString(), remote.Port));
            _loop.Post(() =>
            {
                _loop.AssertOnLoop("stream acceptor");
                _acceptor!(connection); // Set before the loop started (SetAcceptor).
            });
        }
    }
}
