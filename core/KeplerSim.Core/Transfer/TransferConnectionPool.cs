using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Transfer;

/// <summary>
/// The requesting side's idle transfer connections, a few per peer (docs/PROTOCOL.md, "Transfer connections"). A
/// connection is taken for one exchange and comes back only after that exchange finished cleanly; one idle longer
/// than <see cref="IdleMicrosecondsMax"/> is closed instead of used, well before the serving side's own idle limit
/// (<see cref="ServedIdleMicrosecondsMax"/>) closes it, so a request rarely meets a connection its peer is closing.
/// Ordered by peer id and by return time only: nothing here depends on hash order.
/// </summary>
internal sealed class TransferConnectionPool(IClock clock)
{
    /// <summary>Idle connections kept per peer; more are closed when their exchange ends.</summary>
    public const int IdlePerPeerMax = 8;

    /// <summary>
    /// How long a connection may wait in the pool before it is closed rather than used. Long enough that peers which
    /// exchange a manifest now and then keep their connection: at 15 s about half the manifest pushes of a 200-node cluster
    /// (each pair about once in 20 s) opened a new connection and paid its handshake; at 45 s
    /// scenarios/bench/cluster-200.yaml runs 21 % fewer events and moves 10 % fewer bytes (docs/BENCHMARKS.md,
    /// "Twelfth session").
    /// </summary>
    public const long IdleMicrosecondsMax = 45_000_000;

    /// <summary>How long a serving connection waits for its next request before it closes: twice the pool's limit
    /// (clock drift), and under the real node's TCP read timeout (120 s).</summary>
    public const long ServedIdleMicrosecondsMax = 90_000_000;

    private readonly SortedDictionary<string, Peer> _peers = new(StringComparer.Ordinal);
    private long _nextSweep;
    private bool _closed;

    /// <summary>Idle connections held now, every peer together.</summary>
    public int Idle => _peers.Values.Sum(p => p.Idle.Count);

    /// <summary>Idle connections held now to <paramref name="node"/>.</summary>
    public int IdleTo(NodeId node) => _peers.TryGetValue(node.Value, out var peer) ? peer.Idle.Count : 0;

    /// <summary>Wraps a connection just opened to <paramref name="node"/> at <paramref name="address"/>.</summary>
    public PooledConnection Adopt(IStreamConnection connection, NodeId node, NetAddress address) =>
        new(connection, node, address, PeerOf(node).Generation);

    /// <summary>
    /// The most recently returned idle connection to <paramref name="node"/> at <paramref name="address"/>, or
    /// null; connections idle too long, or to another address, are closed on the way.
    /// </summary>
    public PooledConnection? Take(NodeId node, NetAddress address)
    {
        if (!_peers.TryGetValue(node.Value, out var peer))
        {
            return null;
        }

        var now = clock.MonotonicMicroseconds;
        while (peer.Idle.Count > 0)
        {
            var connection = peer.Idle[^1];
            peer.Idle.RemoveAt(peer.Idle.Count - 1);
            if (IsFresh(connection, now) && connection.Address == address)
            {
                return connection;
            }

            connection.Dispose();
        }

        return null;
    }

    /// <summary>
    /// Keeps a connection whose exchange finished cleanly for the next request to its peer, unless the peer was
    /// dropped since it was opened, the pool is closed, or the peer already has its fill of idle connections.
    /// </summary>
    public void Return(PooledConnection connection)
    {
        var peer = PeerOf(connection.Node);
        var now = clock.MonotonicMicroseconds;
        if (_closed || connection.IsDisposed || connection.Generation != peer.Generation
            || peer.Idle.Count >= IdlePerPeerMax)
        {
            connection.Dispose();
        }
        else
        {
            connection.IdleSince = now;
            peer.Idle.Add(connection);
        }

        if (now >= _nextSweep)
        {
            Sweep(now);
        }
    }

    /// <summary>
    /// Closes every idle connection to <paramref name="node"/>, and any connection to it now in use when its
    /// exchange ends (the peer died, left, or restarted).
    /// </summary>
    public void Drop(NodeId node)
    {
        if (!_peers.TryGetValue(node.Value, out var peer))
        {
            return;
        }

        peer.Generation++;
        DisposeAll(peer.Idle);
    }

    /// <summary>
    /// Closes the idle connections to <paramref name="node"/> (one of them was found closed by the peer: the
    /// others, idle as long or longer, most likely were too, by its idle limit or its restart).
    /// </summary>
    public void DiscardIdle(NodeId node)
    {
        if (_peers.TryGetValue(node.Value, out var peer))
        {
            DisposeAll(peer.Idle);
        }
    }

    /// <summary>Closes every idle connection; connections in use are closed when their exchange ends.</summary>
    public void Close()
    {
        _closed = true;
        foreach (var peer in _peers.Values)
        {
            DisposeAll(peer.Idle);
        }
    }

    /// <summary>
    /// Closes connections idle too long, at most twice per idle limit (the pool has no timer of its own; a
    /// returned connection drives it): a peer no longer asked for anything does not keep its sockets forever.
    /// </summary>
    private void Sweep(long now)
    {
        _nextSweep = now + IdleMicrosecondsMax / 2;
        foreach (var peer in _peers.Values)
        {
            var stale = peer.Idle.TakeWhile(c => !IsFresh(c, now)).ToList();
            peer.Idle.RemoveRange(0, stale.Count);
            DisposeAll(stale);
        }
    }

    private static bool IsFresh(PooledConnection connection, long now) =>
        !connection.IsDisposed && now - connection.IdleSince < IdleMicrosecondsMax;

    private static void DisposeAll(List<PooledConnection> connections)
    {
        foreach (var connection in connections)
        {
            connection.Dispose();
        }

        connections.Clear();
    }

    private Peer PeerOf(NodeId node)
    {
        if (!_peers.TryGetValue(node.Value, out var peer))
        {
            _peers[node.Value] = peer = new Peer();
        }

        return peer;
    }

    /// <summary>One peer's idle connections, oldest return first, and how often it was dropped.</summary>
    private sealed class Peer
    {
        public List<PooledConnection> Idle { get; } = [];

        public long Generation { get; set; }
    }
}

/// <summary>
/// A transfer connection this node opened, lent to one exchange at a time. It notes, for the current exchange,
/// whether any reply frame arrived and whether the peer closed it: a reused connection that failed before either
/// was a connection the peer had already closed or reset, and its request is sent again on a fresh one.
/// </summary>
internal sealed class PooledConnection(IStreamConnection inner, NodeId node, NetAddress address, long generation)
    : IStreamConnection
{
    /// <summary>The peer it leads to.</summary>
    public NodeId Node => node;

    /// <summary>The transfer address it was opened to.</summary>
    public NetAddress Address => address;

    /// <summary>The peer's drop count when it was opened (a later drop closes it when its exchange ends).</summary>
    public long Generation => generation;

    /// <summary>Whether the current exchange took it from the pool (rather than opening it).</summary>
    public bool Reused { get; private set; }

    /// <summary>Whether a frame arrived during the current exchange.</summary>
    public bool Answered { get; private set; }

    /// <summary>Whether the peer closed it during the current exchange.</summary>
    public bool PeerClosed { get; private set; }

    /// <summary>Whether the current exchange said it ended cleanly (every frame of it sent and received).</summary>
    public bool Finished { get; private set; }

    /// <summary>Whether it was closed.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>When it was last returned to the pool (monotonic µs).</summary>
    public long IdleSince { get; set; }

    /// <inheritdoc />
    public NetAddress Remote => inner.Remote;

    /// <summary>Starts an exchange on it.</summary>
    public void Lend(bool reused)
    {
        Reused = reused;
        Answered = false;
        PeerClosed = false;
        Finished = false;
    }

    /// <summary>The exchange ended cleanly: the connection may carry the next one.</summary>
    public void Finish() => Finished = true;

    /// <inheritdoc />
    public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) =>
        inner.SendAsync(frame, cancellationToken);

    /// <inheritdoc />
    public async Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var frame = await inner.ReceiveAsync(cancellationToken);
        if (frame is null)
        {
            PeerClosed = true;
        }
        else
        {
            Answered = true;
        }

        return frame;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            inner.Dispose();
        }
    }
}
