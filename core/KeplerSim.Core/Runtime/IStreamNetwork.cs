namespace KeplerSim.Core.Runtime;

/// <summary>Reliable, ordered, framed connections between peers (chunk transfer). A connection can break.</summary>
public interface IStreamNetwork
{
    /// <summary>The address peers connect to in order to reach this node.</summary>
    NetAddress LocalAddress { get; }

    /// <summary>The largest frame <see cref="IStreamConnection.SendAsync"/> accepts, in bytes.</summary>
    int MaxFrameBytes { get; }

    /// <summary>
    /// Opens a connection; throws <see cref="StreamBrokenException"/> if the peer cannot be reached or refuses (a
    /// crashed process, or one that has not set its acceptor yet). A paused process's host still accepts it: the
    /// connect succeeds and the peer serves it once it runs again.
    /// </summary>
    Task<IStreamConnection> ConnectAsync(NetAddress target, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the handler for accepted connections; it runs on the node's logical thread. Until it is first set,
    /// connects to this node are refused.
    /// </summary>
    void SetAcceptor(Action<IStreamConnection> acceptor);
}

/// <summary>One end of a reliable ordered connection carrying whole frames.</summary>
public interface IStreamConnection : IDisposable
{
    /// <summary>
    /// The peer's address: for a connection this end opened, the address it connected to; for an accepted one, the
    /// peer's host and the port it connected from, an ephemeral port nothing listens on (never the peer's
    /// <see cref="IStreamNetwork.LocalAddress"/>: identify a peer by its host, never dial this back).
    /// </summary>
    NetAddress Remote { get; }

    /// <summary>
    /// Sends one frame; completes when the frame has been handed to the transport (this is the backpressure
    /// point). Throws <see cref="StreamBrokenException"/> if the connection broke. The frame is copied.
    /// </summary>
    Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default);

    /// <summary>
    /// Receives the next frame, or null when the peer closed the connection cleanly. Throws
    /// <see cref="StreamBrokenException"/> when it broke. The frame's bytes are valid until the next receive on
    /// this connection (a transport may reuse its buffer for large frames): copy what must outlive that. A cancelled
    /// receive may have read part of a frame: the real transport breaks the connection then, so close it after one.
    /// </summary>
    Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default);
}

/// <summary>A stream connection was reset, refused or timed out.</summary>
public sealed class StreamBrokenException(string message) : Exception(message);
