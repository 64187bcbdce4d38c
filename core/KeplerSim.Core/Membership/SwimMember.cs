using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

/// <summary>
/// SWIM membership with Lifeguard (after HashiCorp memberlist): periodic probes with indirect ping-req and nacks,
/// suspicion with a dynamic timeout, incarnation numbers and refutation, piggybacked dissemination with bounded
/// retransmission, periodic push-pull full-state sync over streams, join through seeds and graceful leave.
/// </summary>
/// <remarks>
/// Not a node program itself: the owning node wires its datagrams to <see cref="HandleDatagram"/> and hands over
/// accepted stream connections whose first frame <see cref="IsSwimFrame"/> recognises to
/// <see cref="HandleStreamAsync"/>. Everything runs on the node's logical thread; all order that reaches behaviour
/// comes from sorted collections and the runtime's seeded random source.
/// </remarks>
public sealed partial class SwimMember
{
    /// <summary>Most members remembered (alive, suspect, dead or left); more are ignored.</summary>
    public const int MembersMax = SwimCodec.PushPullMembersMax;

    /// <summary>Upper bound of <see cref="SwimOptions.IndirectChecks"/>.</summary>
    public const int IndirectChecksMax = 16;

    /// <summary>Upper bound of <see cref="SwimOptions.GossipNodes"/>.</summary>
    public const int GossipNodesMax = 16;

    /// <summary>Most updates piggybacked on one datagram (the MTU usually binds first).</summary>
    public const int PiggybackUpdatesMax = 64;

    /// <summary>Most outstanding acks awaited: this node's own probe (one at a time) and relayed ping-reqs, which
    /// are refused beyond <c>AckHandlersMax - 1</c>.</summary>
    public const int AckHandlersMax = 1024;

    // A restarted node starts its probe sequence at a random point, so stale acks to its previous
    // incarnation are unlikely to match.
    private const long SequenceStartMax = 1L << 40;

    private readonly NodeRuntime _runtime;
    private readonly SwimOptions _options;
    private readonly SortedDictionary<NodeId, MemberEntry> _members = [];
    private readonly BroadcastQueue _broadcasts = new();
    private readonly Awareness _awareness;
    private readonly SwimCounters _counters = new();
    private List<NetAddress> _seeds = [];
    private bool _started;
    private bool _stopped;

    /// <summary>Creates the member for the node of <paramref name="runtime"/>; then call <see cref="Start"/>.</summary>
    public SwimMember(NodeRuntime runtime, SwimOptions? options = null, ReadOnlyMemory<byte> metadata = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _options = options ?? new SwimOptions();
        _options.Validate();
        if (metadata.Length > SwimCodec.MetadataBytesMax)
        {
            throw new ArgumentException($"metadata exceeds {SwimCodec.MetadataBytesMax} bytes", nameof(metadata));
        }

        _runtime = runtime;
        _awareness = new Awareness(_options.AwarenessMaxMultiplier);
        var self = new MemberInfo(runtime.Id, runtime.Datagrams.LocalAddress, runtime.Streams.LocalAddress, 0,
            MemberStatus.Alive, metadata.ToArray(), Now);
        AddEntry(new MemberEntry(self, this));
        _broadcasts.Queued = WakeGossip;
        var ping = SwimCodec.EncodeMessage(new SwimPing(long.MaxValue, Id.Value, Id.Value));
        Invariant.That(SwimCodec.OverheadBytes(ping) + SwimCodec.EncodeUpdate(SelfAlive()).Length
            <= runtime.Datagrams.MaxDatagramBytes, "one alive update must fit in a datagram with a ping");
    }

    /// <summary>Raised after any member's snapshot changed (status, incarnation, addresses, metadata).</summary>
    public event Action<MemberInfo>? MemberChanged;

    /// <summary>This node's id.</summary>
    public NodeId Id => _runtime.Id;

    /// <summary>This node as it presents itself (its incarnation rises with each refutation).</summary>
    public MemberInfo Self => _members[Id].Info;

    /// <summary>Every remembered member, this node included, ordered by id.</summary>
    public IReadOnlyCollection<MemberInfo> Members => _members.Values.Select(e => e.Info).ToList();

    /// <summary>The options in force.</summary>
    public SwimOptions Options => _options;

    /// <summary>Traffic and failure counters.</summary>
    public SwimCounters Counters => _counters;

    /// <summary>Lifeguard's local health score: 0 is healthy; timeouts stretch by score + 1.</summary>
    public int HealthScore => _awareness.Score;

    /// <summary>Updates waiting to be piggybacked.</summary>
    public int PendingUpdates => _broadcasts.Count;

    /// <summary>Whether this node has left (or been stopped).</summary>
    public bool IsStopped => _stopped;

    private long Now => _runtime.Clock.MonotonicMicroseconds;

    /// <summary>The member with <paramref name="id"/>, or null.</summary>
    public MemberInfo? Find(NodeId id) => _members.GetValueOrDefault(id)?.Info;

    /// <summary>Whether a stream's first frame is a SWIM push-pull (so the owner should dispatch it here).</summary>
    public static bool IsSwimFrame(ReadOnlyMemory<byte> firstFrame) => SwimCodec.IsSwim(firstFrame.Span);

    /// <summary>
    /// Starts probing, gossip and push-pull, and joins through <paramref name="seeds"/> (gossip addresses; this
    /// node's own address is skipped). With no seeds the node starts a cluster of its own.
    /// </summary>
    public void Start(IEnumerable<NetAddress> seeds)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        Invariant.That(!_started, "SwimMember started twice");
        _started = true;
        _sequence = _runtime.Random.NextLong(0, SequenceStartMax);
        _seeds = seeds.Where(s => s != _runtime.Datagrams.LocalAddress).Distinct().Order().ToList();

        // Random phases keep the cluster's nodes from probing and gossiping in lockstep.
        ScheduleProbe(_runtime.Random.NextLong(0, _options.ProbeIntervalMicroseconds));
        ScheduleGossip(_runtime.Random.NextLong(0, _options.GossipIntervalMicroseconds));
        SchedulePushPull(_runtime.Random.NextLong(_options.PushPullIntervalMicroseconds / 2,
            _options.PushPullIntervalMicroseconds + 1));
        if (_seeds.Count > 0)
        {
            JoinRound();
        }
    }

    /// <summary>Stops every timer and ignores traffic from now on (after a leave, or at shutdown).</summary>
    public void Stop()
    {
        _stopped = true;
        foreach (var entry in _members.Values)
        {
            entry.CancelSuspicion();
        }

        CancelAckHandlers();
        _broadcasts.Clear();
    }

    private void Changed(MemberEntry entry) => MemberChanged?.Invoke(entry.Info);

    /// <summary>Alive and suspect members, this node included: the n of SWIM's formulas.</summary>
    private int LiveCount() => _liveCount;

    /// <summary>Up to <paramref name="count"/> distinct members passing the filter, seeded random.</summary>
    private List<MemberInfo> RandomMembers(int count, Func<MemberInfo, bool> filter)
    {
        var candidates = _members.Values.Select(e => e.Info).Where(m => m.Id != Id && filter(m)).ToList();
        var take = Math.Min(count, candidates.Count);
        for (var i = 0; i < take; i++)
        {
            var j = i + _runtime.Random.NextInt(candidates.Count - i);
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
        }

        candidates.RemoveRange(take, candidates.Count - take);
        return candidates;
    }

    private AliveUpdate SelfAlive()
    {
        var self = Self;
        return new AliveUpdate(Id.Value, self.Incarnation, self.GossipAddress.Host, self.GossipAddress.Port,
            self.TransferAddress.Host, self.TransferAddress.Port,
            self.Metadata.IsEmpty ? null : self.Metadata.ToArray());
    }

    /// <summary>A remembered member. Its info is replaced, never mutated, and every replacement goes through
    /// <see cref="Info"/>, which keeps the member indexes (<see cref="Reindex"/>) in step.</summary>
    private sealed class MemberEntry(MemberInfo info, SwimMember owner)
    {
        private MemberInfo _info = info;

        public MemberInfo Info
        {
            get => _info;
            set
            {
                var old = _info;
                _info = value;
                if (Indexed)
                {
                    owner.Reindex(this, old);
                }
            }
        }

        /// <summary>Whether the entry is in the member map and its indexes.</summary>
        public bool Indexed { get; set; }

        /// <summary>The next member (by id) at the same gossip address, if any.</summary>
        public MemberEntry? NextAtAddress { get; set; }

        public Suspicion? Suspicion { get; set; }

        /// <summary>When this node last heard from the member (local monotonic microseconds); null: never.</summary>
        public long? HeardMicroseconds { get; set; }

        public void CancelSuspicion()
        {
            Suspicion?.Cancel();
            Suspicion = null;
        }
    }
}
