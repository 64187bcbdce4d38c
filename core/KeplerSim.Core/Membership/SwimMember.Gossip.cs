using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    private bool _leaving;
    private TaskCompletionSource? _leaveGossiped;

    private long _nextGossipAt;
    private bool _gossipAsleep;

    private void ScheduleGossip(long delayMicroseconds)
    {
        _nextGossipAt = Now + Math.Max(0, delayMicroseconds);
        _runtime.Clock.Schedule(Math.Max(0, delayMicroseconds), GossipRound);
    }

    /// <summary>
    /// One gossip round. With nothing to piggyback the rounds sleep (an idle node woke five times a second for
    /// nothing) until an update is queued; <see cref="WakeGossip"/> then resumes them on the same phase, so the
    /// rounds that do send happen exactly when they did before. Probes are scheduled on their own and never sleep:
    /// failure detection is unchanged.
    /// </summary>
    private void GossipRound()
    {
        if (_stopped)
        {
            return;
        }

        if (_broadcasts.Count == 0)
        {
            _gossipAsleep = true;
            _nextGossipAt += _options.GossipIntervalMicroseconds;
            return;
        }

        ScheduleGossip(_options.GossipIntervalMicroseconds);
        Gossip();
    }

    /// <summary>An update was queued: resumes sleeping gossip rounds at the next instant of their phase.</summary>
    private void WakeGossip()
    {
        if (!_gossipAsleep || _stopped)
        {
            return;
        }

        _gossipAsleep = false;
        var interval = _options.GossipIntervalMicroseconds;
        var late = Math.Max(0, Now - _nextGossipAt);
        var next = _nextGossipAt + (late + interval - 1) / interval * interval;
        ScheduleGossip(next - Now);
    }

    /// <summary>Sends pending updates to a few random members (and to the recently dead, so they learn it).</summary>
    private void Gossip()
    {
        if (_broadcasts.Count == 0)
        {
            return;
        }

        var now = Now;
        var targets = RandomMembers(_options.GossipNodes, m => m.IsLive
            || (m.Status == MemberStatus.Dead
                && now - m.StatusChangedMicroseconds <= _options.GossipToTheDeadMicroseconds));
        foreach (var target in targets)
        {
            Send(target.GossipAddress, null, SwimTraffic.Gossip);
        }
    }

    /// <summary>
    /// Leaves gracefully: announces the departure (peers mark this node left, not dead), waits until it was
    /// gossiped its full retransmit count or <see cref="SwimOptions.LeaveTimeoutMicroseconds"/> passed, then
    /// stops. The node no longer answers probes afterwards.
    /// </summary>
    public async Task LeaveAsync()
    {
        if (!_started || _stopped || _leaving)
        {
            return;
        }

        _leaving = true;
        _leaveGossiped = new TaskCompletionSource();
        ApplyDead(new DeadUpdate(Id.Value, Self.Incarnation, Id.Value));
        if (LiveCount() > 0)
        {
            Gossip();
        }

        if (!_leaveGossiped.Task.IsCompleted && RandomMembers(1, m => m.IsLive).Count > 0)
        {
            using var cancel = new CancellationTokenSource();
            var timeout = _runtime.Clock.DelayAsync(_options.LeaveTimeoutMicroseconds, cancel.Token);
            await Task.WhenAny(_leaveGossiped.Task, timeout);
            cancel.Cancel();
        }

        Stop();
    }

    /// <summary>
    /// Marks a dead member as left on its behalf and gossips it (Consul's <c>force-leave</c>): every node then
    /// stops counting it. Only a dead member qualifies; a live one would refute, so it is refused. Returns
    /// whether the member is now left.
    /// </summary>
    public bool ForceLeave(NodeId id)
    {
        if (id == Id || !_members.TryGetValue(id, out var entry) || entry.Info.Status is not
                (MemberStatus.Dead or MemberStatus.Left))
        {
            return false;
        }

        ApplyDead(new DeadUpdate(id.Value, entry.Info.Incarnation, id.Value));
        return entry.Info.Status == MemberStatus.Left;
    }

    private void LeaveGossiped() => _leaveGossiped?.TrySetResult();
}
