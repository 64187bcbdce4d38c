using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    private void ApplyUpdate(MemberUpdate update)
    {
        switch (update)
        {
            case AliveUpdate alive:
                ApplyAlive(alive);
                break;
            case SuspectUpdate suspect:
                ApplySuspect(suspect);
                break;
            case DeadUpdate dead:
                ApplyDead(dead);
                break;
        }
    }

    private void ApplyAlive(AliveUpdate alive)
    {
        var id = new NodeId(alive.Node);
        if (!_members.TryGetValue(id, out var entry))
        {
            AddMember(id, alive);
            return;
        }

        var info = entry.Info;
        if (id == Id)
        {
            // Someone spreads a view of us at least as new as ours but different: correct it.
            var same = alive.Incarnation == info.Incarnation && SameAs(info, alive);
            if (!_leaving && alive.Incarnation >= info.Incarnation && !same)
            {
                Refute(alive.Incarnation);
            }

            return;
        }

        var gossip = new NetAddress(alive.GossipHost, alive.GossipPort);
        var transfer = new NetAddress(alive.TransferHost, alive.TransferPort);
        var moved = gossip != info.GossipAddress || transfer != info.TransferAddress;
        if (moved && info.IsLive)
        {
            return; // Two nodes claim one id: keep the one we know until it dies (memberlist's conflict rule).
        }

        if (alive.Incarnation <= info.Incarnation && !moved)
        {
            // A member we hold as departed (left or dead) announces itself alive at an incarnation not above its
            // departure: it restarted and knows nothing of it. Gossip the departure again, so it hears of it and
            // refutes with a higher incarnation; otherwise it stays out of our view for good
            // (scenarios/regressions/rejoin-after-leave-same-incarnation.yaml).
            if (!info.IsLive)
            {
                ReannounceDeparture(info, info.Incarnation);
            }

            return;
        }

        entry.CancelSuspicion();
        _broadcasts.Enqueue(info.Id, SwimCodec.EncodeUpdate(alive)); // The pooled id: queued for many rounds.
        var previous = info.Status;
        entry.Info = info with
        {
            GossipAddress = moved ? Pooled(gossip) : info.GossipAddress,
            TransferAddress = moved ? Pooled(transfer) : info.TransferAddress,
            Incarnation = alive.Incarnation,
            Status = MemberStatus.Alive,
            Metadata = alive.Metadata ?? [],
            StatusChangedMicroseconds = previous == MemberStatus.Alive ? info.StatusChangedMicroseconds : Now,
        };
        if (previous != MemberStatus.Alive || moved)
        {
            _runtime.Events.Publish(new MemberAliveEvent(alive.Node, alive.Incarnation, Describe(previous)));
        }

        Changed(entry);
    }

    /// <summary><paramref name="address"/> with the host's pooled copy of its host name.</summary>
    private NetAddress Pooled(NetAddress address) =>
        address with { Host = _runtime.Shared.Strings.Intern(address.Host) };

    private void AddMember(NodeId id, AliveUpdate alive)
    {
        if (_members.Count >= MembersMax)
        {
            return;
        }

        // Kept for as long as the member is: the host's pooled copies of its names, not this datagram's.
        id = new NodeId(_runtime.Shared.Strings.Intern(id.Value));
        var info = new MemberInfo(id,
            Pooled(new NetAddress(alive.GossipHost, alive.GossipPort)),
            Pooled(new NetAddress(alive.TransferHost, alive.TransferPort)), alive.Incarnation,
            MemberStatus.Alive, alive.Metadata ?? [], Now);
        var entry = new MemberEntry(info, this);
        AddEntry(entry);
        AddToProbeOrder(id);
        _broadcasts.Enqueue(id, SwimCodec.EncodeUpdate(alive));
        _runtime.Events.Publish(new MemberAliveEvent(alive.Node, alive.Incarnation, "new"));
        Changed(entry);
    }

    private void ApplySuspect(SuspectUpdate suspect)
    {
        var id = new NodeId(suspect.Node);
        if (!_members.TryGetValue(id, out var entry) || suspect.Incarnation < entry.Info.Incarnation)
        {
            ReannounceIfStale(id);
            return;
        }

        if (entry.Suspicion is { } stale && suspect.Incarnation > entry.Info.Incarnation)
        {
            // The member refuted the suspicion we hold (we missed that) and is suspected anew: start over rather
            // than let the new accusation confirm, and so shorten, the old timer. memberlist confirms here.
            stale.Cancel();
            entry.Suspicion = null;
            entry.Info = entry.Info with { Status = MemberStatus.Alive };
        }

        if (entry.Suspicion is { } suspicion)
        {
            // Another member independently suspects it: Lifeguard shortens the timeout; pass the news on.
            if (suspicion.Confirm(new NodeId(suspect.From)))
            {
                _broadcasts.Enqueue(id, SwimCodec.EncodeUpdate(suspect));
            }

            return;
        }

        if (entry.Info.Status is MemberStatus.Dead or MemberStatus.Left)
        {
            ReannounceDeparture(entry.Info, suspect.Incarnation);
            return;
        }

        if (entry.Info.Status != MemberStatus.Alive)
        {
            return;
        }

        if (id == Id)
        {
            if (!_leaving)
            {
                Refute(suspect.Incarnation);
            }

            return;
        }

        _broadcasts.Enqueue(id, SwimCodec.EncodeUpdate(suspect));
        entry.Info = entry.Info with
        {
            Incarnation = suspect.Incarnation,
            Status = MemberStatus.Suspect,
            StatusChangedMicroseconds = Now,
        };
        entry.Suspicion = NewSuspicion(id, suspect.Incarnation, new NodeId(suspect.From));
        _runtime.Events.Publish(new MemberSuspectEvent(suspect.Node, suspect.Incarnation, suspect.From));
        Changed(entry);
    }

    private Suspicion NewSuspicion(NodeId id, long incarnation, NodeId from)
    {
        var n = LiveCount();
        var min = SuspicionMinMicroseconds(n);
        var max = min * _options.SuspicionMaxTimeoutMultiplier;
        return new Suspicion(_runtime.Clock, from, SuspicionConfirmationsExpected(n), min, max,
            () => SuspicionExpired(id, incarnation));
    }

    /// <summary>
    /// Lifeguard's k: mult − 2 independent confirmations, at most n − 2 (neither this node nor the suspect can
    /// confirm). memberlist expects none at all when n − 2 &lt; k; here the cluster's n − 2 are still awaited.
    /// </summary>
    internal int SuspicionConfirmationsExpected(int n) =>
        Math.Clamp(_options.SuspicionMultiplier - 2, 0, Math.Max(0, n - 2));

    /// <summary>memberlist's suspicionTimeout: mult × max(1, log10(max(1, n))) × probe interval.</summary>
    internal long SuspicionMinMicroseconds(int n)
    {
        var nodeScale = Math.Max(1.0, Math.Log10(Math.Max(1.0, n)));
        return (long)(_options.SuspicionMultiplier * nodeScale * _options.ProbeIntervalMicroseconds);
    }

    private void SuspicionExpired(NodeId id, long incarnation)
    {
        if (_stopped || !_members.TryGetValue(id, out var entry))
        {
            return;
        }

        if (entry.Info.Status != MemberStatus.Suspect || entry.Info.Incarnation != incarnation)
        {
            return;
        }

        entry.Suspicion = null;
        ApplyDead(new DeadUpdate(id.Value, incarnation, Id.Value));
    }

    private void ApplyDead(DeadUpdate dead)
    {
        var id = new NodeId(dead.Node);
        if (!_members.TryGetValue(id, out var entry) || dead.Incarnation < entry.Info.Incarnation)
        {
            ReannounceIfStale(id);
            return;
        }

        entry.CancelSuspicion();
        var info = entry.Info;
        var left = dead.From == dead.Node;
        // A dead member can still be marked left (an operator's remove, or its own late leave); nothing else moves
        // a dead or departed member until it comes back alive with a higher incarnation.
        if (info.Status == MemberStatus.Left || (info.Status == MemberStatus.Dead && !left))
        {
            return;
        }

        if (id == Id && !_leaving)
        {
            Refute(dead.Incarnation);
            return;
        }

        _broadcasts.Enqueue(id, SwimCodec.EncodeUpdate(dead), id == Id ? LeaveGossiped : null);
        entry.Info = info with
        {
            Incarnation = dead.Incarnation,
            Status = left ? MemberStatus.Left : MemberStatus.Dead,
            StatusChangedMicroseconds = Now,
        };
        _runtime.Events.Publish(left
            ? new MemberLeftEvent(dead.Node, dead.Incarnation)
            : new MemberDeadEvent(dead.Node, dead.Incarnation, dead.From));
        Changed(entry);
    }

    /// <summary>
    /// Someone still suspects a member we know is dead or gone at that incarnation: it missed every copy of that
    /// news (the gossip's retransmits ran out while it was cut off). Gossip it again, so the suspecter settles now
    /// instead of at its suspicion's maximum timeout or the next push-pull (chaos case 36e5fa4f19f64209: a node
    /// partitioned while a peer left still listed the peer 20 s after the heal).
    /// </summary>
    private void ReannounceDeparture(MemberInfo info, long accusedIncarnation)
    {
        if (accusedIncarnation != info.Incarnation || _stopped || _broadcasts.Contains(info.Id))
        {
            return;
        }

        var from = info.Status == MemberStatus.Left ? info.Id.Value : Id.Value;
        _broadcasts.Enqueue(info.Id, SwimCodec.EncodeUpdate(new DeadUpdate(info.Id.Value, info.Incarnation, from)));
    }

    /// <summary>We are accused at <paramref name="accused"/>: come back with a higher incarnation.</summary>
    private void Refute(long accused)
    {
        var entry = _members[Id];
        var incarnation = Math.Max(entry.Info.Incarnation + 1, accused + 1);
        entry.Info = entry.Info with { Incarnation = incarnation };
        _broadcasts.Enqueue(Id, SwimCodec.EncodeUpdate(SelfAlive()));

        // Lifeguard: being accused hints that this node is the slow one.
        _awareness.ApplyDelta(1);
        _counters.Refutations++;
        _runtime.Events.Publish(new MemberRefutedEvent(Id.Value, incarnation, accused));
        Changed(entry);
    }

    /// <summary>
    /// An accusation of an incarnation we already refuted reached us: whoever sent it missed every copy of the
    /// refutation. Announce the current incarnation again (without raising it), so the ack or gossip going back
    /// carries it. memberlist ignores such stale accusations; under 10 % loss a 50-node cluster then sees a
    /// straggler declare a refuted node dead about once per 100 refutations.
    /// </summary>
    private void ReannounceIfStale(NodeId id)
    {
        if (id == Id && !_leaving && !_stopped && !_broadcasts.Contains(Id))
        {
            _broadcasts.Enqueue(Id, SwimCodec.EncodeUpdate(SelfAlive()));
        }
    }

    private void ReapDeadMembers()
    {
        var now = Now;
        var reaped = _members.Values
            .Where(e => e.Info.Id != Id && !e.Info.IsLive
                && now - e.Info.StatusChangedMicroseconds > _options.DeadRetentionMicroseconds)
            .Select(e => e.Info.Id)
            .ToList();
        foreach (var id in reaped)
        {
            RemoveEntry(id);
        }
    }

    private static bool SameAs(MemberInfo info, AliveUpdate alive) =>
        info.GossipAddress == new NetAddress(alive.GossipHost, alive.GossipPort)
        && info.TransferAddress == new NetAddress(alive.TransferHost, alive.TransferPort)
        && info.Metadata.Span.SequenceEqual(alive.Metadata ?? []);

    private static string Describe(MemberStatus status) => status switch
    {
        MemberStatus.Alive => "alive",
        MemberStatus.Suspect => "suspect",
        MemberStatus.Dead => "dead",
        _ => "left",
    };
}
