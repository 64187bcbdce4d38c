using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    /// <summary>Beyond this many members the push-pull interval grows (memberlist's pushPullScale).</summary>
    public const int PushPullScaleThreshold = 32;

    private void SchedulePushPull(long delayMicroseconds) =>
        _runtime.Clock.Schedule(Math.Max(0, delayMicroseconds), PushPullRound);

    /// <summary>
    /// Syncs full state with one random live member, and tries one dead member: if it is reachable again (a
    /// partition healed, a node restarted) the exchange tells both sides and they refute.
    /// </summary>
    private void PushPullRound()
    {
        if (_stopped)
        {
            return;
        }

        var interval = PushPullIntervalMicroseconds();
        if (_runtime.Buggify.Hit("swim.pushpull.early"))
        {
            interval = Math.Max(1, interval / 10);
        }

        SchedulePushPull(interval);
        if (RandomMembers(1, m => m.IsLive) is [var live])
        {
            _runtime.Supervisor.Run("swim.push_pull", () => PushPullAsync(live, join: false));
        }
        else if (_seeds.Count > 0)
        {
            // Alone: every peer died or left in our eyes; try the seeds again.
            _joined = false;
            JoinRound();
        }

        if (RandomMembers(1, m => m.Status == MemberStatus.Dead) is [var dead])
        {
            _runtime.Supervisor.Run("swim.push_pull", () => PushPullAsync(dead, join: false));
        }
    }

    private long PushPullIntervalMicroseconds()
    {
        var n = LiveCount();
        if (n <= PushPullScaleThreshold)
        {
            return _options.PushPullIntervalMicroseconds;
        }

        var multiplier = Math.Ceiling(Math.Log2(n) - Math.Log2(PushPullScaleThreshold)) + 1.0;
        return (long)(_options.PushPullIntervalMicroseconds * multiplier);
    }

    /// <summary>One push-pull exchange as the initiator; true when the peer's state was merged.</summary>
    private async Task<bool> PushPullAsync(MemberInfo peer, bool join)
    {
        try
        {
            using var connection = await WithTimeoutAsync(
                _runtime.Streams.ConnectAsync(peer.TransferAddress), null, "connect");
            await WithTimeoutAsync(connection.SendAsync(LocalState(isReply: false, join)), connection, "send");
            _counters.CountSent(SwimTraffic.PushPull);
            var reply = await WithTimeoutAsync(connection.ReceiveAsync(), connection, "reply");
            if (_stopped)
            {
                return false;
            }

            string? error = "closed before reply";
            var frame = reply is { } bytes ? SwimCodec.TryDecodeFrame(bytes, out error) as SwimPushPull : null;
            if (frame is not { IsReply: true })
            {
                CountMalformed(peer.TransferAddress, error ?? "not a reply");
                _counters.PushPullsFailed++;
                return false;
            }

            _counters.CountReceived(SwimTraffic.PushPull);
            MergeRemoteState(frame);
            return true;
        }
        catch (Exception e) when (e is StreamBrokenException or TimeoutException or OperationCanceledException)
        {
            _counters.PushPullsFailed++;
            return false;
        }
    }

    private async Task ServePushPullAsync(IStreamConnection connection, SwimPushPull frame)
    {
        if (frame.IsReply)
        {
            CountMalformed(connection.Remote, "a push-pull reply as a request");
            return;
        }

        _counters.CountReceived(SwimTraffic.PushPull);

        // Merge first, so the reply already carries any refutation the request provoked.
        MergeRemoteState(frame);
        await WithTimeoutAsync(connection.SendAsync(LocalState(isReply: true, frame.Join)), connection, "reply");
        _counters.CountSent(SwimTraffic.PushPull);
    }

    /// <summary>Every member as an update, live ones first; left members as dead-from-themselves.</summary>
    private byte[] LocalState(bool isReply, bool join)
    {
        var members = _members.Values
            .Select(e => e.Info)
            .OrderBy(m => m.IsLive ? 0 : 1)
            .Take(SwimCodec.PushPullMembersMax)
            .Select(ToUpdate)
            .ToArray();
        var bytes = SwimCodec.EncodeFrame(new SwimPushPull(isReply, join, Id.Value, members, _settings));
        Invariant.That(bytes.Length <= _runtime.Streams.MaxFrameBytes, "push-pull state exceeds the frame limit");
        return bytes;
    }

    private MemberUpdate ToUpdate(MemberInfo member) => member.Status switch
    {
        MemberStatus.Alive => new AliveUpdate(member.Id.Value, member.Incarnation, member.GossipAddress.Host,
            member.GossipAddress.Port, member.TransferAddress.Host, member.TransferAddress.Port,
            member.Metadata.IsEmpty ? null : member.Metadata.ToArray()),
        MemberStatus.Suspect => new SuspectUpdate(member.Id.Value, member.Incarnation, Id.Value),
        MemberStatus.Dead => new DeadUpdate(member.Id.Value, member.Incarnation, Id.Value),
        _ => new DeadUpdate(member.Id.Value, member.Incarnation, member.Id.Value),
    };

    /// <summary>
    /// Merges a peer's full state (memberlist mergeState): a member the peer believes dead is only suspected
    /// here, so it gets its chance to refute.
    /// </summary>
    private void MergeRemoteState(SwimPushPull frame)
    {
        MergeSettings(frame.Settings);
        foreach (var update in frame.Members ?? [])
        {
            switch (update)
            {
                case DeadUpdate dead when dead.From != dead.Node:
                    ApplySuspect(new SuspectUpdate(dead.Node, dead.Incarnation, frame.Sender));
                    break;
                case SuspectUpdate suspect:
                    ApplySuspect(suspect with { From = frame.Sender });
                    break;
                default:
                    ApplyUpdate(update);
                    break;
            }
        }

        HeardFrom(new NodeId(frame.Sender));
    }
}
