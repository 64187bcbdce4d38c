using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    /// <summary>Most unknown probers introduced to at once (see <c>IntroduceToUnknown</c>).</summary>
    public const int IntroductionsMax = 64;

    private readonly SortedDictionary<NetAddress, long> _introduced = [];
    private bool _joined;
    private bool _everJoined;
    private bool _joinSyncing;

    /// <summary>Whether a seed answered and the first full-state sync completed (always true without seeds).</summary>
    public bool IsJoined => _joined || _seeds.Count == 0;

    /// <summary>
    /// Whether this node has completed a join since it started (always true without seeds). Unlike
    /// <see cref="IsJoined"/> it stays true when the node later finds itself alone and tries its seeds again.
    /// </summary>
    public bool HasJoined => _everJoined || _seeds.Count == 0;

    /// <summary>Introduces this node to every seed until one answers and a full-state sync succeeds.</summary>
    private void JoinRound()
    {
        if (_stopped || _joined)
        {
            return;
        }

        foreach (var seed in _seeds)
        {
            Send(seed, new SwimJoinRequest(SelfAlive()), SwimTraffic.JoinRequest);
        }

        _runtime.Clock.Schedule(_options.JoinRetryIntervalMicroseconds, JoinRound);
    }

    /// <summary>
    /// A node joining through us introduces itself: we answer. If it is one of our own seeds and we have not joined,
    /// its request is as good an answer as a join reply, and we sync with it now. A node that started before its
    /// seeds sent its join requests to nobody; without this it waited for its next join round (a second by default)
    /// while its ring already held every member, refusing every write above durability fast meanwhile
    /// (scenarios/regressions/join-through-late-seed.yaml).
    /// </summary>
    private void OnJoinRequest(NetAddress from, SwimJoinRequest join)
    {
        ApplyAlive(join.Self);
        Send(from, new SwimJoinReply(SelfAlive()), SwimTraffic.JoinReply);
        if (Find(new NodeId(join.Self.Node)) is { } sender && _seeds.Contains(sender.GossipAddress))
        {
            SyncWithSeed(sender);
        }
    }

    private void OnJoinReply(SwimJoinReply reply)
    {
        ApplyAlive(reply.Self);
        if (Find(new NodeId(reply.Self.Node)) is { } seed)
        {
            SyncWithSeed(seed);
        }
    }

    /// <summary>Completes the join with a full-state sync with <paramref name="seed"/>, unless joined or syncing.</summary>
    private void SyncWithSeed(MemberInfo seed)
    {
        if (_joined || _joinSyncing)
        {
            return;
        }

        _joinSyncing = true;
        _runtime.Supervisor.Run("swim.join_sync", () => JoinSyncAsync(seed));
    }

    private async Task JoinSyncAsync(MemberInfo seed)
    {
        var synced = await PushPullAsync(seed, join: true);
        _joinSyncing = false;
        _joined |= synced;
        _everJoined |= synced;
    }
}
