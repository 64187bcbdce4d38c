namespace KeplerSim.Node.Runtime;

/// <summary>Thread-safe counters of the node's sockets, for <c>/metrics</c>.</summary>
public sealed class TransportCounters
{
    private long _datagramsReceived;
    private long _datagramsSent;
    private long _datagramsOversized;
    private long _datagramsUnhandled;
    private long _connectionsAccepted;
    private long _connectionsOpened;
    private long _framesReceived;
    private long _framesSent;
    private long _framesOversized;
    private long _framesTruncated;
    private long _streamBytesIn;
    private long _streamBytesOut;

    /// <summary>Datagrams received.</summary>
    public long DatagramsReceived => Interlocked.Read(ref _datagramsReceived);

    /// <summary>Datagrams sent.</summary>
    public long DatagramsSent => Interlocked.Read(ref _datagramsSent);

    /// <summary>Datagrams dropped for exceeding the MTU budget.</summary>
    public long DatagramsOversized => Interlocked.Read(ref _datagramsOversized);

    /// <summary>Datagrams dropped because no protocol listens yet (membership is not wired).</summary>
    public long DatagramsUnhandled => Interlocked.Read(ref _datagramsUnhandled);

    /// <summary>Stream connections accepted.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    /// <summary>Stream connections opened to peers.</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    /// <summary>Frames received.</summary>
    public long FramesReceived => Interlocked.Read(ref _framesReceived);

    /// <summary>Frames sent.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>Frames whose announced length exceeded the maximum (the connection was closed).</summary>
    public long FramesOversized => Interlocked.Read(ref _framesOversized);

    /// <summary>Connections that ended in the middle of a frame.</summary>
    public long FramesTruncated => Interlocked.Read(ref _framesTruncated);

    /// <summary>Stream bytes received, headers included.</summary>
    public long StreamBytesIn => Interlocked.Read(ref _streamBytesIn);

    /// <summary>Stream bytes sent, headers included.</summary>
    public long StreamBytesOut => Interlocked.Read(ref _streamBytesOut);

    internal void DatagramReceived() => Interlocked.Increment(ref _datagramsReceived);

    internal void DatagramSent() => Interlocked.Increment(ref _datagramsSent);

    internal void DatagramOversized() => Interlocked.Increment(ref _datagramsOversized);

    internal void DatagramUnhandled() => Interlocked.Increment(ref _datagramsUnhandled);

    internal void ConnectionAccepted() => Interlocked.Increment(ref _connectionsAccepted);

    internal void ConnectionOpened() => Interlocked.Increment(ref _connectionsOpened);

    internal void FrameReceived(int bytes)
    {
        Interlocked.Increment(ref _framesReceived);
        Interlocked.Add(ref _streamBytesIn, bytes);
    }

    internal void FrameSent(int bytes)
    {
        Interlocked.Increment(ref _framesSent);
        Interlocked.Add(ref _streamBytesOut, bytes);
    }

    internal void FrameOversized() => Interlocked.Increment(ref _framesOversized);

    internal void FrameTruncated() => Interlocked.Increment(ref _framesTruncated);
}
