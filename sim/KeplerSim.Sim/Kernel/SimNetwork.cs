using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

/// <summary>
/// The simulated network: datagrams with seeded latency, loss, duplication and reordering; reliable streams
/// with latency and bandwidth; symmetric and one-way partitions that also break streams.
/// </summary>
public sealed partial class SimNetwork
{
    private readonly Simulation _sim;
    private readonly SortedDictionary<(int From, int To), NetworkFaults> _linkFaults = [];
    private readonly HashSet<(int From, int To)> _blocked = [];
    private readonly SortedDictionary<long, SimConnection> _connections = [];
    private long _nextConnectionId;

    internal SimNetwork(Simulation sim, NetworkFaults defaults)
    {
        _sim = sim;
        _defaults = defaults;
    }

    /// <summary>Faults of every link without an override.</summary>
    public NetworkFaults Defaults
    {
        get => _defaults;
        set
        {
            _defaults = value;
            _links = null;
        }
    }

    private NetworkFaults _defaults;

    /// <summary>
    /// Sees a copy of every datagram sent (sender, target, bytes): an outsider capturing traffic to replay it.
    /// Observes only; null when nothing listens.
    /// </summary>
    public Action<SimNode, NetAddress, byte[]>? Tap { get; set; }

    /// <summary>Datagrams sent, delivered and dropped so far.</summary>
    public (long Sent, long Delivered, long Dropped) DatagramCounts => (_sent, _delivered, _dropped);

    /// <summary>Bytes of every datagram sent so far (delivered or not).</summary>
    public long DatagramBytesSent { get; private set; }

    /// <summary>Stream payload bytes carried so far, per (from, to) node index.</summary>
    public IReadOnlyDictionary<(int From, int To), long> StreamBytes => _streamBytes;

    private long _sent;
    private long _delivered;
    private long _dropped;
    private readonly SortedDictionary<(int From, int To), long> _streamBytes = [];

    /// <summary>Overrides the faults of the directed link <paramref name="from"/> → <paramref name="to"/>.</summary>
    public void SetLinkFaults(SimNode from, SimNode to, NetworkFaults? faults)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        if (faults is null)
        {
            _linkFaults.Remove((from.Index, to.Index));
            _links = null;
            return;
        }

        faults.Validate();
        _linkFaults[(from.Index, to.Index)] = faults;
        _links = null;
    }

    /// <summary>
    /// Cuts traffic between the two groups: both ways, or with <paramref name="oneWay"/> only from
    /// <paramref name="side"/> to <paramref name="other"/>. Streams across the cut go silent (their frames are held
    /// until <see cref="Heal"/>); nobody is told, as with real TCP.
    /// </summary>
    public void Partition(IReadOnlyCollection<SimNode> side, IReadOnlyCollection<SimNode> other, bool oneWay = false)
    {
        ArgumentNullException.ThrowIfNull(side);
        ArgumentNullException.ThrowIfNull(other);
        foreach (var a in side)
        {
            foreach (var b in other)
            {
                if (a.Index == b.Index)
                {
                    continue;
                }

                _blocked.Add((a.Index, b.Index));
                if (!oneWay)
                {
                    _blocked.Add((b.Index, a.Index));
                }
            }
        }

        _links = null;

        var detail = string.Join(",", side.Select(n => n.Name)) + (oneWay ? " -> " : " | ")
            + string.Join(",", other.Select(n => n.Name));
        _sim.Trace.Record(_sim.Now, "-", TraceKind.Partition, detail);
    }

    /// <summary>Removes every partition.</summary>
    public void Heal()
    {
        _blocked.Clear();
        _links = null;
        _sim.Trace.Record(_sim.Now, "-", TraceKind.Partition, "heal");
        ReleaseHeldFrames();
    }

    /// <summary>Whether traffic from <paramref name="from"/> to <paramref name="to"/> is cut.</summary>
    public bool IsBlocked(SimNode from, SimNode to) => _blocked.Contains((from.Index, to.Index));

    /// <summary>Whether any partition is in force.</summary>
    public bool IsPartitioned => _blocked.Count > 0;

    internal NetworkFaults FaultsOf(SimNode from, SimNode to) =>
        _linkFaults.GetValueOrDefault((from.Index, to.Index)) ?? Defaults;

    internal long Latency(NetworkFaults faults) =>
        faults.LatencyMaxMicroseconds == faults.LatencyMinMicroseconds
            ? faults.LatencyMinMicroseconds
            : _sim.Random.NextLong(faults.LatencyMinMicroseconds, faults.LatencyMaxMicroseconds + 1);

    internal void SendDatagram(SimNode from, NetAddress target, ReadOnlySpan<byte> payload)
    {
        _sim.AssertRunning(from);
        var faults = Defaults;
        if (payload.Length > faults.MtuBytes)
        {
            throw new ArgumentException(
                $"datagram of {payload.Length} bytes exceeds the MTU of {faults.MtuBytes} bytes", nameof(payload));
        }

        _sent++;
        DatagramBytesSent += payload.Length;
        Tap?.Invoke(from, target, payload.ToArray());
        var to = _sim.FindNode(target.Host);
        _sim.Trace.Record(_sim.Now, from.Name, TraceKind.DatagramSent, target.Host, payload.Length);
        if (to is null || target.Port != SimNode.GossipPort)
        {
            Drop(from, target.Host, "no such host");
            return;
        }

        faults = FaultsOf(from, to);
        if (IsBlocked(from, to))
        {
            Drop(from, to.Name, "partition");
            return;
        }

        if (_sim.Random.Chance(faults.LossProbability))
        {
            Drop(from, to.Name, "loss");
            return;
        }

        var copy = payload.ToArray();
        ScheduleDelivery(from, to, copy, faults);
        if (_sim.Random.Chance(faults.DuplicationProbability))
        {
            ScheduleDelivery(from, to, copy, faults);
        }
    }

    private void ScheduleDelivery(SimNode from, SimNode to, byte[] payload, NetworkFaults faults)
    {
        var delay = Latency(faults);
        if (_sim.Random.Chance(faults.ReorderProbability))
        {
            delay += _sim.Random.NextLong(0, faults.ReorderDelayMaxMicroseconds + 1);
        }

        var source = from.GossipAddress;
        _sim.Enqueue(_sim.Now + delay, null, 0, () => Deliver(from, to, source, payload));
    }

    private void Deliver(SimNode from, SimNode to, NetAddress source, byte[] payload)
    {
        if (IsBlocked(from, to))
        {
            Drop(to, from.Name, "partition in flight");
            return;
        }

        if (to.State == SimNodeState.Down)
        {
            Drop(to, from.Name, "target down");
            return;
        }

        // Delivered to the node's socket buffer: a paused node sees it when it resumes.
        _sim.Enqueue(_sim.Now, to, to.Epoch, () =>
        {
            var receiver = to.Receiver;
            if (receiver is null)
            {
                Drop(to, from.Name, "no receiver");
                return;
            }

            _delivered++;
            _sim.Trace.Record(_sim.Now, to.Name, TraceKind.DatagramDelivered, from.Name, payload.Length);
            receiver(source, payload);
        });
    }

    private void Drop(SimNode at, string peer, string reason)
    {
        _dropped++;
        _sim.Trace.Record(_sim.Now, at.Name, TraceKind.DatagramDropped, peer + " " + reason);
    }
}

/// <summary>A node's view of the datagram network.</summary>
internal sealed class SimDatagramEndpoint(Simulation sim, SimNode node) : IDatagramNetwork
{
    public NetAddress LocalAddress => node.GossipAddress;

    public int MaxDatagramBytes => sim.Network.Defaults.MtuBytes;

    public void Send(NetAddress target, ReadOnlySpan<byte> payload) => sim.Network.SendDatagram(node, target, payload);

    public void SetReceiver(Action<NetAddress, ReadOnlyMemory<byte>> receiver)
    {
        sim.AssertRunning(node);
        node.Receiver = receiver;
    }
}
