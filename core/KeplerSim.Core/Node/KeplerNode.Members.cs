using KeplerSim.Core.Membership;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Node;

/// <summary>
/// Membership bookkeeping: the ring follows the LIVE members (SWIM's alive and suspect ones), while the number of
/// copies a write promises follows the KNOWN members. A member declared dead is still known (it may come back
/// with its disk), so an isolated node cannot shrink N to itself and acknowledge <c>all</c> with one copy; only
/// a member that left (a graceful leave, or an operator's remove) stops counting. Known members are kept in the
/// <c>peers</c> table, so a restart does not forget them either.
/// </summary>
public sealed partial class KeplerNode
{
    private readonly SortedDictionary<NodeId, Member> _known = [];

    /// <summary>Whether the <c>peers</c> table named another member when this node started (it was in a cluster).</summary>
    private bool _rememberedPeers;

    /// <summary>The SWIM member, when membership is dynamic.</summary>
    public SwimMember? Membership => _swim;

    /// <summary>
    /// Every member this node counts copies against, itself included: the configured members, and every member
    /// SWIM reported (alive, suspect or dead) that has not left. Ordered by id.
    /// </summary>
    public IReadOnlyCollection<Member> KnownMembers => _known.Values;

    /// <summary>N: the replication factor over the known membership (not over the live ring).</summary>
    public int ReplicationTarget => Math.Min(ReplicationFactor, Math.Max(1, _known.Count));

    /// <summary>Distinct durable copies a write of <paramref name="durability"/> needs before its ack.</summary>
    public int CopiesRequired(Durability durability) => KeplerOptions.CopiesFor(durability, ReplicationTarget);

    /// <summary>
    /// An operator's explicit remove of a member that failed for good (Consul's <c>force-leave</c>): the dead
    /// member is marked as left cluster-wide, so it stops counting towards N everywhere. A member that is not
    /// dead is refused: a live member would refute the accusation, and a suspect one may still do so.
    /// </summary>
    public MemberStatus RemoveMember(NodeId id)
    {
        if (_swim is null)
        {
            throw new MemberRemovalRefusedException(
                "membership is static (PEERS): remove the member from every node's PEERS instead");
        }

        if (id == Id)
        {
            throw new MemberRemovalRefusedException("a node cannot remove itself; stop it (it leaves gracefully)");
        }

        var info = _swim.Find(id) ?? throw new MemberRemovalRefusedException($"{id} is not a member this node knows");
        if (info.Status == MemberStatus.Left)
        {
            return MemberStatus.Left;
        }

        if (info.Status != MemberStatus.Dead)
        {
            throw new MemberRemovalRefusedException(
                $"{id} is {info.Status.ToString().ToLowerInvariant()}, not dead: only a dead member can be removed");
        }

        Invariant.That(_swim.ForceLeave(id), "a dead member can always be marked left");
        return MemberStatus.Left;
    }

    /// <summary>How often a leaving node looks whether its hand-off is done.</summary>
    private const long HandoffPollMicroseconds = 100_000;

    /// <summary>
    /// Leaves the cluster gracefully (SIGTERM on a real node): announces the leave through SWIM, so peers mark this
    /// node left rather than dead and stop counting it, and then hands off: with this node gone from its own ring
    /// every local chunk belongs to others, so the repair scan queues each for its owners and the replication
    /// worker delivers them. Returns when the queue is empty or <paramref name="handoffTimeoutMicroseconds"/>
    /// passed. With static membership there is no leave; the node only drains its queue.
    /// </summary>
    public async Task<HandoffReport> LeaveAsync(long handoffTimeoutMicroseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(handoffTimeoutMicroseconds);
        await EnsureReadyAsync();
        if (_swim is not null)
        {
            await _swim.LeaveAsync();
        }

        var chunks = Meta.CountChunks();
        var others = Cluster.Members.Count(m => m.Id != Id);
        var deadline = _runtime.Clock.MonotonicMicroseconds + handoffTimeoutMicroseconds;
        while (others > 0 && (QueueDepth > 0 || (_repair?.IsScanning ?? false))
               && _runtime.Clock.MonotonicMicroseconds < deadline)
        {
            KickReplication();
            await _runtime.Clock.DelayAsync(HandoffPollMicroseconds);
        }

        var report = new HandoffReport(chunks, others, QueueDepth);
        _runtime.Events.Publish(new HandoffFinished(report.LocalChunks, report.LiveMembers, report.QueueLeft));
        return report;
    }

    private void LoadKnownMembers()
    {
        foreach (var member in _configured.Members)
        {
            _known[member.Id] = member;
        }

        if (_swim is null)
        {
            return; // Static membership: the configured list is the whole truth.
        }

        for (var page = Meta.ListPeers(); page.Count > 0; page = Meta.ListPeers(page[^1].Id))
        {
            foreach (var peer in page.Where(p => p.Status != PeerStatus.Left && p.Id != Id))
            {
                _known[peer.Id] = new Member(peer.Id, new NetAddress(peer.Address, peer.GossipPort),
                    new NetAddress(peer.Address, peer.TransferPort));
                _rememberedPeers = true;
            }
        }
    }

    /// <summary>
    /// Whether this node cannot yet know how many members its copies are counted against: it joins through seeds,
    /// no seed has answered with the cluster's state since it started, and it remembers no peer from before. Its
    /// known membership is then only itself, and N = min(factor, known) would be 1 (a node partitioned from its
    /// seeds at birth acknowledged <c>all</c> with one copy: scenarios/regressions/all-acked-before-join.yaml).
    /// </summary>
    public bool AwaitingJoin => _swim is { HasJoined: false } && !_rememberedPeers;

    private void StartMembership()
    {
        if (_swim is null)
        {
            return;
        }

        _runtime.Datagrams.SetReceiver(_swim.HandleDatagram);
        _swim.MemberChanged += OnMemberChanged;
        _swim.SettingsChanged += OnSettingsChanged;
        // A restarted node also rejoins through the members it remembers (as Consul rejoins from its snapshot):
        // without seeds it would otherwise stay alone while still counting them.
        _swim.Start(_known.Values.Where(m => m.Id != Id).Select(m => m.GossipAddress)
            .Concat(_options.Seeds).Distinct());
    }

    /// <summary>
    /// SWIM changed a member's state: update the known members, and the ring if the live set changed. The ring holds
    /// the configured members SWIM does not know of and every live member SWIM knows, so a change of one member can
    /// only add or remove that member: the view and the ring change by one entry, not by a rebuild from SWIM's whole
    /// member list (a join of n nodes makes n changes on every node; copying n members at each cost n² per node).
    /// </summary>
    private void OnMemberChanged(MemberInfo changed)
    {
        var member = RecordKnown(changed);
        if (changed.Status is MemberStatus.Dead or MemberStatus.Left)
        {
            _channel.Drop(changed.Id); // Its pooled transfer connections lead nowhere now (or to a past incarnation).
        }

        var current = Cluster.Find(changed.Id);
        member = _configured.Find(changed.Id) ?? member;
        if (changed.IsLive && current is null)
        {
            UpdateCluster(Cluster.With(member), Ring.WithNode(changed.Id), Reason(changed));
        }
        else if (!changed.IsLive && current is not null)
        {
            UpdateCluster(Cluster.Without(changed.Id), Ring.WithoutNode(changed.Id), Reason(changed));
        }
        else if (current is not null && current != member)
        {
            Cluster = Cluster.With(member); // New addresses, same ring.
        }
    }

    private static string Reason(MemberInfo changed) =>
        $"{changed.Id} {changed.Status.ToString().ToLowerInvariant()}";

    /// <summary>Records <paramref name="changed"/> in the peers table and the known members; returns its member
    /// record (shared with the ring's view, so each member is held once).</summary>
    private Member RecordKnown(MemberInfo changed)
    {
        if (changed.Id == Id)
        {
            // This node always counts itself; its own leave ends its writes anyway.
            return _known.GetValueOrDefault(Id) ?? new Member(changed.Id, changed.GossipAddress, changed.TransferAddress);
        }

        var peer = new PeerRow(changed.Id, changed.GossipAddress.Host, changed.GossipAddress.Port,
            changed.TransferAddress.Port, NowMicroseconds, PeerStatusOf(changed.Status), changed.Incarnation);
        Meta.UpsertPeer(peer);
        var member = _known.GetValueOrDefault(changed.Id) is { } known && known.GossipAddress == changed.GossipAddress
            && known.TransferAddress == changed.TransferAddress
            ? known
            : new Member(changed.Id, changed.GossipAddress, changed.TransferAddress);
        if (changed.Status == MemberStatus.Left)
        {
            _known.Remove(changed.Id);
        }
        else
        {
            _known[changed.Id] = member;
        }

        return member;
    }

    private static PeerStatus PeerStatusOf(MemberStatus status) => status switch
    {
        MemberStatus.Alive => PeerStatus.Alive,
        MemberStatus.Suspect => PeerStatus.Suspect,
        MemberStatus.Dead => PeerStatus.Dead,
        _ => PeerStatus.Left,
    };
}

/// <summary>What a graceful leave handed off.</summary>
/// <param name="LocalChunks">Chunks on this node when the hand-off began.</param>
/// <param name="LiveMembers">Live members other than this node that could take them.</param>
/// <param name="QueueLeft">Queue entries not delivered when the hand-off ended (0: everything handed off).</param>
public sealed record HandoffReport(long LocalChunks, int LiveMembers, long QueueLeft);
