namespace KeplerSim.Core.Membership;

/// <summary>
/// Settings of SWIM membership. The defaults are memberlist's LAN configuration; every time is in microseconds of
/// the node's monotonic clock.
/// </summary>
public sealed record SwimOptions
{
    /// <summary>Time between failure-detection probes (stretched by local health awareness).</summary>
    public long ProbeIntervalMicroseconds { get; init; } = 1_000_000;

    /// <summary>How long to wait for a direct ack before asking others to probe indirectly.</summary>
    public long ProbeTimeoutMicroseconds { get; init; } = 500_000;

    /// <summary>How many members are asked to probe a silent target (ping-req).</summary>
    public int IndirectChecks { get; init; } = 3;

    /// <summary>
    /// Also probe a silent target over a stream (memberlist's TCP ping, on by default), so datagram loss alone
    /// does not make a live node suspect.
    /// </summary>
    public bool StreamFallbackProbes { get; init; } = true;

    /// <summary>Scales the minimum suspicion timeout: mult × max(1, log10(n)) × probe interval.</summary>
    public int SuspicionMultiplier { get; init; } = 4;

    /// <summary>Lifeguard: the suspicion timeout starts at this multiple of the minimum.</summary>
    public int SuspicionMaxTimeoutMultiplier { get; init; } = 6;

    /// <summary>Time between gossip rounds.</summary>
    public long GossipIntervalMicroseconds { get; init; } = 200_000;

    /// <summary>Members sent pending updates per gossip round.</summary>
    public int GossipNodes { get; init; } = 3;

    /// <summary>How long a dead member still receives gossip, so it learns it was declared dead.</summary>
    public long GossipToTheDeadMicroseconds { get; init; } = 30_000_000;

    /// <summary>Each update is piggybacked about mult × ceil(log10(n + 1)) times.</summary>
    public int RetransmitMultiplier { get; init; } = 4;

    /// <summary>Time between full-state push-pull syncs with a random member (scaled up beyond 32 members).</summary>
    public long PushPullIntervalMicroseconds { get; init; } = 30_000_000;

    /// <summary>Lifeguard: the largest factor by which local health stretches the probe interval.</summary>
    public int AwarenessMaxMultiplier { get; init; } = 8;

    /// <summary>Time between join attempts while no seed has answered.</summary>
    public long JoinRetryIntervalMicroseconds { get; init; } = 1_000_000;

    /// <summary>How long a dead or departed member is remembered (and retried) before it is reaped.</summary>
    public long DeadRetentionMicroseconds { get; init; } = 600_000_000;

    /// <summary>Bound on each step (connect, send, receive) of a push-pull exchange.</summary>
    public long StreamTimeoutMicroseconds { get; init; } = 5_000_000;

    /// <summary>How long <see cref="SwimMember.LeaveAsync"/> waits for the leave to be gossiped.</summary>
    public long LeaveTimeoutMicroseconds { get; init; } = 2_000_000;

    /// <summary>Checks the values are in range; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        Require(ProbeIntervalMicroseconds > 0, "probe interval must be > 0");
        Require(ProbeTimeoutMicroseconds > 0, "probe timeout must be > 0");
        Require(ProbeTimeoutMicroseconds < ProbeIntervalMicroseconds, "probe timeout must be < probe interval");
        Require(IndirectChecks is >= 0 and <= SwimMember.IndirectChecksMax, "indirect checks out of range");
        Require(SuspicionMultiplier >= 1, "suspicion multiplier must be >= 1");
        Require(SuspicionMaxTimeoutMultiplier >= 1, "suspicion max timeout multiplier must be >= 1");
        Require(GossipIntervalMicroseconds > 0, "gossip interval must be > 0");
        Require(GossipNodes is >= 1 and <= SwimMember.GossipNodesMax, "gossip nodes out of range");
        Require(GossipToTheDeadMicroseconds >= 0, "gossip to the dead must be >= 0");
        Require(RetransmitMultiplier >= 1, "retransmit multiplier must be >= 1");
        Require(PushPullIntervalMicroseconds > 0, "push-pull interval must be > 0");
        Require(AwarenessMaxMultiplier >= 1, "awareness max multiplier must be >= 1");
        Require(JoinRetryIntervalMicroseconds > 0, "join retry interval must be > 0");
        Require(DeadRetentionMicroseconds >= GossipToTheDeadMicroseconds,
            "dead retention must cover gossip to the dead");
        Require(StreamTimeoutMicroseconds > 0, "stream timeout must be > 0");
        Require(LeaveTimeoutMicroseconds >= 0, "leave timeout must be >= 0");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
