using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    private readonly List<NodeId> _probeOrder = [];
    private int _probeIndex;

    private void ScheduleProbe(long delayMicroseconds) =>
        _runtime.Clock.Schedule(Math.Max(0, delayMicroseconds), ProbeRound);

    private void ProbeRound()
    {
        if (_stopped)
        {
            return;
        }

        if (NextProbeTarget() is { } target)
        {
            StartProbe(target);
        }
        else
        {
            ScheduleProbe(_options.ProbeIntervalMicroseconds);
        }
    }

    /// <summary>The next member in the shuffled round-robin order that is neither us nor dead.</summary>
    private MemberInfo? NextProbeTarget()
    {
        for (var checkedCount = 0; checkedCount <= _probeOrder.Count; checkedCount++)
        {
            if (_probeIndex >= _probeOrder.Count)
            {
                ResetProbeOrder();
            }

            if (_probeOrder.Count == 0)
            {
                return null;
            }

            var id = _probeOrder[_probeIndex++];
            if (id != Id && _members.TryGetValue(id, out var entry) && entry.Info.IsLive)
            {
                return entry.Info;
            }
        }

        return null;
    }

    /// <summary>Starts a new round: reaps long-dead members and reshuffles the probe order (seeded).</summary>
    private void ResetProbeOrder()
    {
        ReapDeadMembers();
        _probeOrder.Clear();
        _probeOrder.AddRange(_members.Keys.Where(id => id != Id));
        for (var i = _probeOrder.Count - 1; i > 0; i--)
        {
            var j = _runtime.Random.NextInt(i + 1);
            (_probeOrder[i], _probeOrder[j]) = (_probeOrder[j], _probeOrder[i]);
        }

        _probeIndex = 0;
    }

    /// <summary>A new member goes to a random place in the current round, as memberlist does.</summary>
    private void AddToProbeOrder(NodeId id)
    {
        var position = _probeIndex + _runtime.Random.NextInt(_probeOrder.Count - _probeIndex + 1);
        _probeOrder.Insert(position, id);
    }

    private void StartProbe(MemberInfo target)
    {
        var probe = new Probe(target, NextSequence(), Now);
        var intervalMicroseconds = _awareness.Scale(_options.ProbeIntervalMicroseconds);

        // Acks (direct, or relayed by ping-req) count until the end of the stretched probe interval.
        RegisterAck(probe.Sequence, intervalMicroseconds,
            onAck: () => FinishProbe(probe, acked: true),
            onNack: () => probe.Nacks++,
            onTimeout: () => FinishProbe(probe, acked: false));

        // A suspect target is told so along with the ping, so it can refute at once.
        var suspect = target.Status == MemberStatus.Suspect
            ? SwimCodec.EncodeUpdate(new SuspectUpdate(target.Id.Value, target.Incarnation, Id.Value))
            : null;
        Send(target.GossipAddress, new SwimPing(probe.Sequence, target.Id.Value, Id.Value), SwimTraffic.Ping,
            suspect);
        probe.IndirectTimer = _runtime.Clock.Schedule(_options.ProbeTimeoutMicroseconds, () => ProbeIndirectly(probe));
    }

    private void ProbeIndirectly(Probe probe)
    {
        if (probe.Done || _stopped || _runtime.Buggify.Hit("swim.probe.indirect.skip"))
        {
            return;
        }

        var target = probe.Target;
        var relays = RandomMembers(_options.IndirectChecks,
            m => m.Id != target.Id && m.Status == MemberStatus.Alive);
        probe.ExpectedNacks = relays.Count;
        foreach (var relay in relays)
        {
            var request = new SwimPingRequest(probe.Sequence, target.Id.Value, target.GossipAddress.Host,
                target.GossipAddress.Port, WantNack: true);
            Send(relay.GossipAddress, request, SwimTraffic.PingRequest);
        }

        if (_options.StreamFallbackProbes)
        {
            _runtime.Supervisor.Run("swim.stream_ping", () => StreamPingAsync(probe));
        }
    }

    private void FinishProbe(Probe probe, bool acked)
    {
        if (probe.Done || _stopped)
        {
            return;
        }

        probe.Done = true;
        probe.IndirectTimer?.Dispose();
        if (!acked && probe.StreamAcked)
        {
            // Reachable over a stream only: datagrams are being lost. No suspicion, and no verdict on our health.
            _counters.ProbesSucceeded++;
        }
        else if (acked)
        {
            HeardFrom(probe.Target.Id); // Directly, or through a relay that heard it for us.
            _counters.ProbesSucceeded++;
            _awareness.ApplyDelta(-1);
        }
        else
        {
            // Lifeguard: relays that should have answered with a nack but did not suggest that this node's
            // own links or scheduling are at fault; without relays nothing can be told apart.
            _counters.ProbesFailed++;
            _awareness.ApplyDelta(probe.ExpectedNacks > 0 ? Math.Max(0, probe.ExpectedNacks - probe.Nacks) : 1);
            ApplySuspect(new SuspectUpdate(probe.Target.Id.Value, probe.Target.Incarnation, Id.Value));
        }

        var next = probe.StartMicroseconds + _awareness.Scale(_options.ProbeIntervalMicroseconds);
        ScheduleProbe(next - Now);
    }

    private sealed class Probe(MemberInfo target, long sequence, long startMicroseconds)
    {
        public MemberInfo Target { get; } = target;

        public long Sequence { get; } = sequence;

        public long StartMicroseconds { get; } = startMicroseconds;

        public int ExpectedNacks { get; set; }

        public int Nacks { get; set; }

        public bool Done { get; set; }

        public bool StreamAcked { get; set; }

        public IDisposable? IndirectTimer { get; set; }
    }
}
