using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    private readonly SortedDictionary<long, AckHandler> _acks = [];
    private long _sequence;

    /// <summary>
    /// Handles one arriving datagram (the owner's datagram receiver calls this). Malformed input is counted and
    /// dropped; it never throws.
    /// </summary>
    public void HandleDatagram(NetAddress from, ReadOnlyMemory<byte> payload)
    {
        if (!_started || _stopped)
        {
            return;
        }

        var datagram = SwimCodec.TryDecodeDatagram(payload, out var error);
        if (datagram is null)
        {
            CountMalformed(from, error ?? "undecodable");
            return;
        }

        MergeSettings(datagram.Settings);

        // Updates first: a stale accusation riding on a ping makes us re-announce, and the ack then carries it.
        var updates = datagram.Updates ?? [];
        _counters.CountReceived(SwimTraffic.Update, updates.Length);
        foreach (var update in updates)
        {
            ApplyUpdate(update);
        }

        if (datagram.Message is { } message)
        {
            HandleMessage(from, message);
        }
        else
        {
            _counters.CountReceived(SwimTraffic.Gossip);
        }

        HeardDatagram(from, datagram.Message);
    }

    private void CountMalformed(NetAddress from, string reason)
    {
        _counters.Malformed++;
        _runtime.Events.Publish(new SwimMalformedEvent(from.ToString(), reason));
    }

    private void HandleMessage(NetAddress from, SwimMessage message)
    {
        switch (message)
        {
            case SwimPing ping:
                _counters.CountReceived(SwimTraffic.Ping);
                OnPing(from, ping);
                break;
            case SwimPingRequest request:
                _counters.CountReceived(SwimTraffic.PingRequest);
                OnPingRequest(from, request);
                break;
            case SwimAck ack:
                _counters.CountReceived(SwimTraffic.Ack);
                if (_acks.Remove(ack.Sequence, out var handler))
                {
                    handler.Timer.Dispose();
                    handler.OnAck();
                }

                break;
            case SwimNack nack:
                _counters.CountReceived(SwimTraffic.Nack);
                if (_acks.TryGetValue(nack.Sequence, out var waiting))
                {
                    waiting.OnNack?.Invoke();
                }

                break;
            case SwimJoinRequest join:
                _counters.CountReceived(SwimTraffic.JoinRequest);
                OnJoinRequest(from, join);
                break;
            case SwimJoinReply reply:
                _counters.CountReceived(SwimTraffic.JoinReply);
                OnJoinReply(reply);
                break;
        }
    }

    private void OnPing(NetAddress from, SwimPing ping)
    {
        // A ping meant for another node (a previous owner of this address) must not vouch for it.
        if (ping.Target != Id.Value || _runtime.Buggify.Hit("swim.ack.drop"))
        {
            return;
        }

        Send(from, new SwimAck(ping.Sequence), SwimTraffic.Ack);
        IntroduceToUnknown(from, new NodeId(ping.Source));
    }

    /// <summary>
    /// A member we have never heard of probes us: it knows us, we do not know it. Its own alive update may have
    /// been gossiped out before we joined, leaving us blind to it until the next push-pull (30 s by default; chaos
    /// case 727dfb813af32753: the ninth of nine simultaneous joiners never learned the fourth within 20 s). We
    /// introduce ourselves with a join request; its reply carries its alive state. At most once per probe interval
    /// per address, and for at most <see cref="IntroductionsMax"/> addresses at a time.
    /// </summary>
    private void IntroduceToUnknown(NetAddress from, NodeId source)
    {
        if (_stopped || source == Id || _members.ContainsKey(source))
        {
            return;
        }

        var now = Now;
        foreach (var stale in _introduced.Where(i => now - i.Value >= _options.ProbeIntervalMicroseconds).ToList())
        {
            _introduced.Remove(stale.Key);
        }

        if (_introduced.Count >= IntroductionsMax || !_introduced.TryAdd(from, now))
        {
            return;
        }

        Send(from, new SwimJoinRequest(SelfAlive()), SwimTraffic.JoinRequest);
    }

    private void OnPingRequest(NetAddress from, SwimPingRequest request)
    {
        // Overloaded: the requester hears nothing and counts that against its own health. One handler stays free
        // for this node's own probe (at most one is in flight): a flood of ping-reqs that took the last one made
        // the next probe round throw "too many outstanding acks" (SwimUpdateRulesTests, tenth session).
        if (_acks.Count >= AckHandlersMax - 1)
        {
            return;
        }

        var sequence = NextSequence();
        var acked = false;
        RegisterAck(sequence, _options.ProbeTimeoutMicroseconds,
            onAck: () =>
            {
                acked = true;
                Send(from, new SwimAck(request.Sequence), SwimTraffic.Ack);
            },
            onNack: null,
            onTimeout: () => { });
        if (request.WantNack)
        {
            // Lifeguard (footnote 5 of the paper): nack at 80 % of the probe timeout. The requester asked at its own
            // probe timeout and stops counting at the end of its probe interval (twice that by default), so a nack
            // sent at the full timeout always came a network delay too late and every relayed probe of a dead node
            // raised the requester's health score by the number of relays, stretching healthy nodes' probing
            // (memberlist shares the flaw; swift-cluster-membership#6 fixed it the same way). A target that answers
            // after the nack is still relayed until the full timeout.
            _runtime.Clock.Schedule(_options.ProbeTimeoutMicroseconds * 4 / 5, () =>
            {
                if (!acked && !_stopped)
                {
                    Send(from, new SwimNack(request.Sequence), SwimTraffic.Nack);
                }
            });
        }

        // The requester still probes a member we hold as dead or gone: it missed every copy of that news (its own
        // suspicion's gossip and ours both ran out while it was cut off, so ReannounceDeparture never fired). Gossip
        // the departure again; the nack, or the next gossip, carries it back. Without this the requester keeps the
        // member until its suspicion's maximum timeout (24 s at 3 nodes) or the next push-pull (30 s): the relayed
        // probes after a heal were the only word it sent about the member (stale-suspicion-of-departed.yaml at
        // swarm seeds 5, 11 and 18). memberlist relays blindly. The ping still goes out: the target may be back.
        if (_members.TryGetValue(new NodeId(request.Target), out var known) && !known.Info.IsLive)
        {
            ReannounceDeparture(known.Info, known.Info.Incarnation);
        }

        var target = new NetAddress(request.TargetHost, request.TargetPort);
        Send(target, new SwimPing(sequence, request.Target, Id.Value), SwimTraffic.Ping);
    }

    private long NextSequence() => ++_sequence;

    private void RegisterAck(long sequence, long timeoutMicroseconds, Action onAck, Action? onNack, Action onTimeout)
    {
        Invariant.That(_acks.Count < AckHandlersMax, "too many outstanding acks");
        var timer = _runtime.Clock.Schedule(timeoutMicroseconds, () =>
        {
            if (_acks.Remove(sequence))
            {
                onTimeout();
            }
        });
        _acks.Add(sequence, new AckHandler(onAck, onNack, timer));
    }

    private void CancelAckHandlers()
    {
        foreach (var handler in _acks.Values)
        {
            handler.Timer.Dispose();
        }

        _acks.Clear();
    }

    /// <summary>
    /// Sends <paramref name="message"/> (or, when null, only gossip) with as many pending updates piggybacked as
    /// fit in the datagram budget; <paramref name="first"/> is an update that must go along. Never exceeds
    /// <see cref="IDatagramNetwork.MaxDatagramBytes"/>.
    /// </summary>
    private void Send(NetAddress target, SwimMessage? message, SwimTraffic kind, byte[]? first = null)
    {
        var messageBytes = message is null ? null : SwimCodec.EncodeMessage(message);
        var budget = _runtime.Datagrams.MaxDatagramBytes - SwimCodec.OverheadBytes(messageBytes, _settingsBytes)
            - (first?.Length ?? 0);
        Invariant.That(budget >= 0, "a SWIM message alone exceeds the datagram budget");
        var countMax = PiggybackUpdatesMax - (first is null ? 0 : 1);
        if (_runtime.Buggify.Hit("swim.piggyback.shrink"))
        {
            countMax = Math.Min(countMax, 1);
        }

        var updates = _broadcasts.Take(budget, countMax, RetransmitLimit());
        if (first is not null)
        {
            updates.Insert(0, first);
        }

        if (message is null && updates.Count == 0)
        {
            return;
        }

        var bytes = SwimCodec.AssembleDatagram(messageBytes, updates, _settingsBytes);
        Invariant.That(bytes.Length <= _runtime.Datagrams.MaxDatagramBytes, "SWIM datagram exceeds the MTU");
        _runtime.Datagrams.Send(target, bytes);
        _counters.CountSent(kind);
        _counters.CountSent(SwimTraffic.Update, updates.Count);
    }

    /// <summary>Each update is sent this many times: mult × ceil(log10(n + 1)).</summary>
    private int RetransmitLimit() =>
        _options.RetransmitMultiplier * (int)Math.Ceiling(Math.Log10(LiveCount() + 1.0));

    private sealed record AckHandler(Action OnAck, Action? OnNack, IDisposable Timer);
}
