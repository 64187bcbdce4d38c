using KeplerSim.Core;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

public sealed partial class SimNetwork
{
    internal void Connect(SimNode from, NetAddress target, TaskCompletionSource<IStreamConnection> result)
    {
        _sim.AssertRunning(from);
        var to = _sim.FindNode(target.Host);
        var faults = to is null ? Defaults : FaultsOf(from, to);
        var latency = Latency(faults);
        if (to is null || IsBlocked(from, to) || IsBlocked(to, from))
        {
            // Nobody answers: the connect times out.
            var why = to is null ? "no such host" : "unreachable";
            CompleteOn(from, faults.ConnectTimeoutMicroseconds, () =>
            {
                _sim.Trace.Record(_sim.Now, from.Name, TraceKind.StreamBroken, $"connect {target.Host} {why}");
                result.TrySetException(new StreamBrokenException($"connect to {target} timed out ({why})"));
            });
            return;
        }

        var fromEpoch = from.Epoch;
        var listening = target.Port == SimNode.TransferPort;
        _sim.Enqueue(_sim.Now + latency, null, 0,
            () => Arrive(from, fromEpoch, to, listening, latency, faults, result));
    }

    private void Arrive(SimNode from, int fromEpoch, SimNode to, bool listening, long latency, NetworkFaults faults,
        TaskCompletionSource<IStreamConnection> result)
    {
        if (from.Epoch != fromEpoch)
        {
            return;
        }

        if (to.State == SimNodeState.Down || !listening || to.Acceptor is null || IsBlocked(from, to)
            || IsBlocked(to, from))
        {
            // A crashed process, or one not listening yet, answers with a reset; across a partition nobody answers.
            var refused = !IsBlocked(from, to) && !IsBlocked(to, from);
            CompleteOn(from, refused ? latency : faults.ConnectTimeoutMicroseconds, () =>
            {
                _sim.Trace.Record(_sim.Now, from.Name, TraceKind.StreamBroken, $"connect {to.Name} refused");
                result.TrySetException(new StreamBrokenException($"connect to {to.Name} refused"));
            });
            return;
        }

        var id = _nextConnectionId++;
        var connection = new SimConnection(this, _sim, id, from, to, latency, faults.StreamBandwidthBytesPerSecond);
        _connections.Add(id, connection);
        _sim.Trace.Record(_sim.Now, to.Name, TraceKind.StreamOpened, from.Name, id);
        var acceptor = to.Acceptor;
        if (to.State == SimNodeState.Paused)
        {
            // A paused process's kernel still completes the handshake: the connection waits in the listen backlog,
            // frames sent on it wait in the socket buffer, and the process accepts it when it resumes. (The connect
            // used to time out as if the host were gone: a stopped process looked unreachable to its peers.)
            _sim.Enqueue(_sim.Now, to, to.Epoch, () => acceptor(connection.Accepting));
        }
        else
        {
            _sim.RunOn(to, () => acceptor(connection.Accepting));
        }

        CompleteOn(from, latency, () => result.TrySetResult(connection.Initiating));
    }

    private void CompleteOn(SimNode node, long delay, Action action) =>
        _sim.Enqueue(_sim.Now + delay, node, node.Epoch, action);

    internal void BreakStreamsOf(SimNode node, string reason)
    {
        foreach (var connection in _connections.Values.ToList())
        {
            if (connection.Involves(node))
            {
                connection.Break(reason);
            }
        }
    }

    /// <summary>
    /// After a heal, every connection's frames held at the cut arrive (TCP retransmits them), in order, a latency
    /// later.
    /// </summary>
    private void ReleaseHeldFrames()
    {
        foreach (var connection in _connections.Values.ToList())
        {
            connection.Initiating.ReleaseHeld();
            connection.Accepting.ReleaseHeld();
        }
    }

    internal void Forget(SimConnection connection) => _connections.Remove(connection.Id);

    /// <summary>
    /// Sees every stream frame as it is sent (connection id, sender, bytes): an on-path attacker in tests records
    /// what it replays with <see cref="InjectFrame"/>. Null (the default) costs nothing.
    /// </summary>
    internal Action<long, SimNode, byte[]>? StreamTap { get; set; }

    /// <summary>
    /// Delivers <paramref name="frame"/> to <paramref name="to"/>'s end of open connection
    /// <paramref name="connectionId"/> now, as if its peer had sent it (an on-path attacker); false when that
    /// connection is no longer open.
    /// </summary>
    internal bool InjectFrame(long connectionId, SimNode to, byte[] frame)
    {
        if (!_connections.TryGetValue(connectionId, out var connection) || !connection.Involves(to))
        {
            return false;
        }

        var end = ReferenceEquals(connection.A, to) ? connection.Initiating : connection.Accepting;
        _sim.Enqueue(_sim.Now, to, end.Epoch, () =>
        {
            if (!connection.Broken)
            {
                end.Accept(frame);
            }
        });
        return true;
    }

    internal void CountBytes(SimNode from, SimNode to, long bytes)
    {
        _streamBytes.TryGetValue((from.Index, to.Index), out var total);
        _streamBytes[(from.Index, to.Index)] = total + bytes;
    }

    /// <summary>Open connections right now.</summary>
    public int OpenConnections => _connections.Count;
}

/// <summary>A node's view of the stream network.</summary>
internal sealed class SimStreamEndpoint(Simulation sim, SimNode node) : IStreamNetwork
{
    public NetAddress LocalAddress => node.TransferAddress;

    public int MaxFrameBytes => sim.Network.Defaults.MaxFrameBytes;

    public Task<IStreamConnection> ConnectAsync(NetAddress target, CancellationToken cancellationToken = default)
    {
        var result = new TaskCompletionSource<IStreamConnection>();
        cancellationToken.Register(() => result.TrySetCanceled(cancellationToken));
        sim.Network.Connect(node, target, result);
        return result.Task;
    }

    public void SetAcceptor(Action<IStreamConnection> acceptor)
    {
        sim.AssertRunning(node);
        node.Acceptor = acceptor;
    }
}

/// <summary>
/// A simulated TCP connection between A (the initiator) and B. Each direction is a pipe whose frames arrive in
/// order after the connection's latency plus transmission time at the link bandwidth; a sender's
/// <c>SendAsync</c> completes when its frame has left (backpressure).
/// </summary>
internal sealed class SimConnection
{
    private readonly SimNetwork _network;
    private readonly Simulation _sim;
    private readonly long _latency;
    private readonly long _bandwidth;

    public SimConnection(SimNetwork network, Simulation sim, long id, SimNode a, SimNode b, long latency,
        long bandwidthBytesPerSecond)
    {
        _network = network;
        _sim = sim;
        Id = id;
        A = a;
        B = b;
        _latency = latency;
        _bandwidth = bandwidthBytesPerSecond;
        Initiating = new End(this, a, a.Epoch, b, b.TransferAddress);
        Accepting = new End(this, b, b.Epoch, a, new NetAddress(a.TransferAddress.Host, EphemeralPort(id)));
        Initiating.Peer = Accepting;
        Accepting.Peer = Initiating;
    }

    /// <summary>
    /// The port an accepted end sees its peer connect from: as on a real host, an ephemeral port (Linux's default
    /// range, 32768-60999) that nothing listens on, never the peer's transfer port. The accepted end's
    /// <see cref="IStreamConnection.Remote"/> names the peer's host; dialling it back reaches nobody, as it would
    /// from a real node (TcpStreamNetwork takes the socket's remote end point).
    /// </summary>
    public static int EphemeralPort(long connectionId) => 32_768 + (int)(connectionId % (61_000 - 32_768));

    public long Id { get; }

    public SimNode A { get; }

    public SimNode B { get; }

    public End Initiating { get; }

    public End Accepting { get; }

    public bool Broken { get; private set; }

    public bool Involves(SimNode node) => ReferenceEquals(A, node) || ReferenceEquals(B, node);

    /// <summary>
    /// The most bytes one direction holds sent but unread: the sender's socket buffer and the receiver's (Linux's
    /// tcp_wmem maximum is 4 MiB). A send completes once its frame fits, so a sender whose peer does not read (busy,
    /// paused) blocks, as on a real host, where the simulator completed every send at link bandwidth and queued
    /// without bound.
    /// </summary>
    public const long BufferBytesMax = 4L << 20;

    /// <summary>A reset sent now breaks the connection when it arrives, a latency later.</summary>
    public void ResetLater() => _sim.Enqueue(_sim.Now + _latency, null, 0, () => Break("reset by peer"));

    public void Break(string reason)
    {
        if (Broken)
        {
            return;
        }

        Broken = true;
        _network.Forget(this);
        _sim.Trace.Record(_sim.Now, A.Name, TraceKind.StreamBroken, B.Name + " " + reason, Id);
        Initiating.Fail(reason);
        Accepting.Fail(reason);
    }

    internal sealed class End(SimConnection owner, SimNode self, int epoch, SimNode other, NetAddress remote)
        : IStreamConnection
    {
        private readonly Queue<ReadOnlyMemory<byte>?> _inbox = new();
        private Queue<ReadOnlyMemory<byte>?>? _held; // Sent frames held at a partition, in order.
        private TaskCompletionSource<ReadOnlyMemory<byte>?>? _waiting;
        private long _busyUntil;
        private long _lastArrival;
        private string? _failure;
        private bool _closed;
        private bool _readClosed;
        private long _sentBytes; // Bytes this end sent...
        private long _readBytes; // ...and, as far as this end has heard, of them, those its peer read.
        private readonly Queue<(long Through, TaskCompletionSource Sent)> _blocked = new();

        // The peer's reads on their way back as window updates (when each reaches this end, and its bytes): applied
        // when a send completes, so only a blocked send costs a kernel event (one per read cost a quarter more
        // events at 200 nodes, BENCHMARKS.md "Thirteenth session").
        private readonly Queue<(long At, long Bytes)> _windowUpdates = new();

        public End Peer { get; set; } = null!;

        public NetAddress Remote => remote;

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
        {
            var sim = owner._sim;
            sim.AssertRunning(self);
            if (_failure is not null || _closed)
            {
                return Task.FromException(new StreamBrokenException($"stream to {other.Name}: {_failure ?? "closed"}"));
            }

            if (frame.Length > sim.Network.Defaults.MaxFrameBytes)
            {
                throw new ArgumentException($"frame of {frame.Length} bytes exceeds the maximum", nameof(frame));
            }

            var copy = frame.ToArray();
            sim.Network.StreamTap?.Invoke(owner.Id, self, copy);
            var start = Math.Max(sim.Now, _busyUntil);
            _busyUntil = start + Math.Max(1, copy.Length * 1_000_000L / owner._bandwidth);
            _lastArrival = Math.Max(_lastArrival, _busyUntil + owner._latency);
            sim.Network.CountBytes(self, other, copy.Length);
            sim.Enqueue(_lastArrival, other, Peer.Epoch, () => Arrive(copy));
            var sent = new TaskCompletionSource();
            _sentBytes += copy.Length;
            var through = _sentBytes;
            sim.Enqueue(_busyUntil, self, epoch, () =>
            {
                if (_failure is not null)
                {
                    sent.TrySetException(new StreamBrokenException($"stream to {other.Name}: {_failure}"));
                }
                else if (_blocked.Count > 0 || through - ReadBytesNow() > SimConnection.BufferBytesMax)
                {
                    _blocked.Enqueue((through, sent)); // The buffers are full: the send waits for the peer to read.
                    WakeAtNextWindowUpdate();
                }
                else
                {
                    sent.TrySetResult();
                }
            });
            return sent.Task;
        }

        public Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default)
        {
            owner._sim.AssertRunning(self);
            if (_readClosed)
            {
                return Task.FromException<ReadOnlyMemory<byte>?>(
                    new StreamBrokenException($"stream from {other.Name}: closed"));
            }

            if (_inbox.Count > 0)
            {
                var frame = _inbox.Dequeue();
                Peer.Read(frame);
                return Task.FromResult(frame);
            }

            if (_failure is not null)
            {
                return Task.FromException<ReadOnlyMemory<byte>?>(
                    new StreamBrokenException($"stream from {other.Name}: {_failure}"));
            }

            Invariant.That(_waiting is null, "only one ReceiveAsync may be outstanding on a stream");
            _waiting = new TaskCompletionSource<ReadOnlyMemory<byte>?>();
            if (cancellationToken.CanBeCanceled)
            {
                var waiting = _waiting;
                cancellationToken.Register(() =>
                {
                    if (ReferenceEquals(_waiting, waiting))
                    {
                        _waiting = null;
                    }

                    waiting.TrySetCanceled(cancellationToken);
                });
            }

            return _waiting.Task;
        }

        public int Epoch => epoch;

        /// <summary>
        /// A frame this end sent (null: its close) reaches the peer's host. Across a partition nothing arrives and
        /// nothing breaks: TCP retransmits in silence, so the frame, and every later one behind it, is held until
        /// the heal (<see cref="ReleaseHeld"/>); the peer's receive waits and core's own timeouts decide, as on real
        /// hosts. (A partition used to reset every connection across it at once: a real one never tells either end.)
        /// </summary>
        private void Arrive(ReadOnlyMemory<byte>? frame)
        {
            if (owner.Broken)
            {
                return;
            }

            if (_held is { Count: > 0 } || owner._sim.Network.IsBlocked(self, other))
            {
                (_held ??= new Queue<ReadOnlyMemory<byte>?>()).Enqueue(frame);
                return;
            }

            Hand(frame);
        }

        /// <summary>Hands the frames held at a healed cut to the peer a latency from now, in order.</summary>
        internal void ReleaseHeld()
        {
            if (_held is not { Count: > 0 })
            {
                return;
            }

            var sim = owner._sim;
            sim.Enqueue(sim.Now + owner._latency, other, Peer.Epoch, () =>
            {
                while (!owner.Broken && _held is { Count: > 0 } && !sim.Network.IsBlocked(self, other))
                {
                    Hand(_held.Dequeue());
                }
            });
        }

        private void Hand(ReadOnlyMemory<byte>? frame)
        {
            var sim = owner._sim;
            if (frame is { } bytes)
            {
                sim.Trace.Record(sim.Now, other.Name, TraceKind.StreamFrame, self.Name, bytes.Length, owner.Id);
                Peer.Accept(bytes);
                return;
            }

            sim.Trace.Record(sim.Now, other.Name, TraceKind.StreamClosed, self.Name, owner.Id);
            Peer.Accept(null);
            if (Peer._closed)
            {
                sim.Network.Forget(owner);
            }
        }

        internal void Accept(ReadOnlyMemory<byte>? frame)
        {
            if (_readClosed)
            {
                // A closed socket answers data with a reset: once it is back, the sender's sends and receives fail
                // (after the close it has already read). The closed end used to discard the data in silence, and the
                // sender's sends went on succeeding: a server could stream a whole chunk to a client gone away.
                if (frame is not null)
                {
                    owner.ResetLater();
                }

                return;
            }

            if (_waiting is { } waiting)
            {
                _waiting = null;
                Peer.Read(frame);
                waiting.TrySetResult(frame);
            }
            else
            {
                _inbox.Enqueue(frame);
            }
        }

        /// <summary>
        /// The peer read (or dropped) <paramref name="frame"/> of this end's: its window update reaches this end a
        /// latency later and frees room for the sends waiting on it.
        /// </summary>
        private void Read(ReadOnlyMemory<byte>? frame)
        {
            if (frame is not { Length: > 0 } bytes)
            {
                return;
            }

            var sim = owner._sim;
            _windowUpdates.Enqueue((sim.Now + owner._latency, bytes.Length));
            if (_blocked.Count > 0)
            {
                WakeAtNextWindowUpdate();
            }
        }

        /// <summary>The bytes the peer read, as far as the window updates that have reached this end by now say.
        /// </summary>
        private long ReadBytesNow()
        {
            var now = owner._sim.Now;
            while (_windowUpdates.TryPeek(out var update) && update.At <= now)
            {
                _readBytes += _windowUpdates.Dequeue().Bytes;
            }

            return _readBytes;
        }

        /// <summary>A send is blocked: releases it (and those behind it) when the next window update arrives.</summary>
        private void WakeAtNextWindowUpdate()
        {
            if (!_windowUpdates.TryPeek(out var next))
            {
                return; // Nothing read on its way back: the peer's next read schedules the wake-up.
            }

            var sim = owner._sim;
            sim.Enqueue(Math.Max(sim.Now, next.At), self, epoch, () =>
            {
                var read = ReadBytesNow();
                while (_failure is null && _blocked.TryPeek(out var head)
                    && head.Through - read <= SimConnection.BufferBytesMax)
                {
                    _blocked.Dequeue().Sent.TrySetResult();
                }

                if (_failure is null && _blocked.Count > 0)
                {
                    WakeAtNextWindowUpdate();
                }
            });
        }

        internal void Fail(string reason)
        {
            _failure ??= reason;
            var sim = owner._sim;
            if (_waiting is { } waiting && self.Epoch == epoch)
            {
                _waiting = null;
                // Completing wakes the reader's continuation through its own node context.
                sim.Enqueue(sim.Now, self, epoch, () =>
                    waiting.TrySetException(new StreamBrokenException($"stream from {other.Name}: {reason}")));
            }

            while (_blocked.TryDequeue(out var blocked))
            {
                var sent = blocked.Sent;
                sim.Enqueue(sim.Now, self, epoch, () =>
                    sent.TrySetException(new StreamBrokenException($"stream to {other.Name}: {reason}")));
            }
        }

        public void Dispose()
        {
            if (_closed || _failure is not null)
            {
                return;
            }

            _closed = true;
            var sim = owner._sim;
            var peer = Peer;
            sim.Enqueue(Math.Max(sim.Now, _lastArrival) + owner._latency, other, peer.Epoch, () => Arrive(null));
            if (peer._closed)
            {
                owner._network.Forget(owner);
            }

            // This end's own reads end too, as a socket's close ends them once the frames handed over have left
            // (TcpStreamConnection.Dispose): a receive pending then fails, and so does every later one. Until then
            // a frame that arrives is still read. Before, a pending receive outlived the dispose and was completed
            // by the peer's next frame: a closed (evicted) served connection still read its peer's next request.
            sim.Enqueue(Math.Max(sim.Now, _busyUntil), self, epoch, () =>
            {
                _readClosed = true;
                if (_inbox.Any(frame => frame is { Length: > 0 }))
                {
                    owner.ResetLater(); // A socket closed with data unread sends a reset, not a clean close.
                }

                _inbox.Clear();
                if (_waiting is { } waiting)
                {
                    _waiting = null;
                    waiting.TrySetException(new StreamBrokenException($"stream from {other.Name}: closed"));
                }
            });
        }
    }
}
