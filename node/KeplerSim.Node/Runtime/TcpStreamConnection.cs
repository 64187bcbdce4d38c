using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// One framed TCP connection. Sends are written in call order by chaining each onto the previous one; a send
/// completes (on the loop) when its bytes are in the socket. One receive at a time. Any socket error, an
/// oversized length or a connection that ends mid-frame becomes <see cref="StreamBrokenException"/>.
/// </summary>
internal sealed class TcpStreamConnection : IStreamConnection
{
    private const int HeaderBytes = 4;

    /// <summary>
    /// Frames of at least this size (chunk data) are received into one buffer per connection, reused frame after
    /// frame (the contract allows it: a received frame is valid until the next receive); smaller ones get a fresh
    /// array. A fresh array per 256 KiB frame went to the large object heap, 16 times per chunk received.
    /// </summary>
    private const int ReusedFrameBytesMin = 64 * 1024;

    private readonly EventLoop _loop;
    private readonly TransportCounters _counters;
    private readonly StreamTimeouts _timeouts;
    private readonly Socket _socket;
    private readonly CancellationTokenSource _closed = new();
    private Task _lastSend = Task.CompletedTask;
    private byte[]? _largeFrame;
    private int _disposed;

    public TcpStreamConnection(EventLoop loop, TransportCounters counters, StreamTimeouts timeouts, Socket socket,
        NetAddress remote)
    {
        _loop = loop;
        _counters = counters;
        _timeouts = timeouts;
        _socket = socket;
        Remote = remote;
    }

    public NetAddress Remote { get; }

    public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
    {
        if (frame.Length > TcpStreamNetwork.FrameBytesMax)
        {
            throw new ArgumentException($"frame of {frame.Length} bytes exceeds {TcpStreamNetwork.FrameBytesMax}",
                nameof(frame));
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            // Closed by Dispose or broken: fail now, as the simulator does. Checking only the close's cancel, set
            // once the frames handed over before it have left, let a send made just after Dispose race the
            // shutdown and reach the peer.
            return Task.FromException(new StreamBrokenException($"stream to {Remote}: closed"));
        }

        var buffer = ArrayPool<byte>.Shared.Rent(HeaderBytes + frame.Length);
        BinaryPrimitives.WriteInt32BigEndian(buffer, frame.Length);
        frame.Span.CopyTo(buffer.AsSpan(HeaderBytes));
        var length = HeaderBytes + frame.Length;
        var previous = _lastSend;
        var send = _loop.RunIoAsync(async () =>
        {
            try
            {
                await WaitQuietly(previous).ConfigureAwait(false);
                await WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                _counters.FrameSent(length);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        });
        _lastSend = send;
        return send;
    }

    public Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default) =>
        _loop.RunIoAsync(() => ReadFrameAsync(cancellationToken));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Frames already handed over finish first (the simulator delivers them before the close too).
        var pending = _lastSend;
        _ = Task.Run(async () =>
        {
            await WaitQuietly(pending).ConfigureAwait(false);
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already reset by the peer.
            }

            _closed.Cancel();
            _socket.Dispose();
        });
    }

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
        limit.CancelAfter(_timeouts.WriteTimeout);
        try
        {
            while (bytes.Length > 0)
            {
                var written = await _socket.SendAsync(bytes, SocketFlags.None, limit.Token).ConfigureAwait(false);
                bytes = bytes[written..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Break();
            throw new StreamBrokenException($"stream to {Remote}: {Describe(e, "write timed out")}");
        }
    }

    private async Task<ReadOnlyMemory<byte>?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            // Closed: its shutdown waits for the sends still leaving, and a read meanwhile would still get a frame.
            throw new StreamBrokenException($"stream from {Remote}: closed");
        }

        var header = new byte[HeaderBytes];
        if (!await ReadExactlyAsync(header, allowCleanEnd: true, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is < 0 or > TcpStreamNetwork.FrameBytesMax)
        {
            _counters.FrameOversized();
            Break();
            throw new StreamBrokenException(
                $"stream from {Remote}: frame of {(uint)length} bytes exceeds {TcpStreamNetwork.FrameBytesMax}");
        }

        Memory<byte> payload;
        if (length < ReusedFrameBytesMin)
        {
            payload = new byte[length];
        }
        else
        {
            if (_largeFrame is null || _largeFrame.Length < length)
            {
                _largeFrame = new byte[length];
            }

            payload = _largeFrame.AsMemory(0, length);
        }

        await ReadExactlyAsync(payload, allowCleanEnd: false, cancellationToken).ConfigureAwait(false);
        _counters.FrameReceived(HeaderBytes + length);
        return payload;
    }

    /// <summary>Fills <paramref name="buffer"/>; false if the peer closed cleanly before its first byte.</summary>
    private async Task<bool> ReadExactlyAsync(Memory<byte> buffer, bool allowCleanEnd, CancellationToken cancel)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel, _closed.Token);
        for (var at = 0; at < buffer.Length;)
        {
            limit.CancelAfter(_timeouts.IdleReadTimeout);
            int read;
            try
            {
                read = await _socket.ReceiveAsync(buffer[at..], SocketFlags.None, limit.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // A cancelled read may have consumed part of a frame: the stream is unusable either way.
                var reason = _closed.IsCancellationRequested ? "closed" : Describe(e, "read timed out");
                Break();
                cancel.ThrowIfCancellationRequested();
                throw new StreamBrokenException($"stream from {Remote}: {reason}");
            }

            if (read == 0)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    // This end was closed: its own shutdown ended the read. That is a broken stream, as in the
                    // simulator (SimStreams: a receive pending on a closed end fails), not the peer's clean end;
                    // which of the two a pending read saw depended on whether the shutdown or the cancel came first.
                    throw new StreamBrokenException($"stream from {Remote}: closed");
                }

                if (at == 0 && allowCleanEnd)
                {
                    return false;
                }

                _counters.FrameTruncated();
                throw new StreamBrokenException($"stream from {Remote}: closed in the middle of a frame");
            }

            at += read;
        }

        return true;
    }

    private void Break()
    {
        Interlocked.Exchange(ref _disposed, 1);
        _closed.Cancel();
        _socket.Dispose();
    }

    private static string Describe(Exception e, string timeout) => e switch
    {
        SocketException s => s.SocketErrorCode.ToString(),
        ObjectDisposedException => "closed",
        _ => timeout,
    };

    private static async Task WaitQuietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The earlier send's failure belongs to its caller; this send finds the broken socket itself.
        }
    }
}
