namespace KeplerSim.Core.Membership;

/// <summary>Kinds of SWIM traffic, for <see cref="SwimCounters"/>.</summary>
public enum SwimTraffic
{
    /// <summary>Direct probe.</summary>
    Ping = 0,

    /// <summary>Indirect probe request.</summary>
    PingRequest = 1,

    /// <summary>Probe answer.</summary>
    Ack = 2,

    /// <summary>Indirect probe failure notice.</summary>
    Nack = 3,

    /// <summary>Join request through a seed.</summary>
    JoinRequest = 4,

    /// <summary>A seed's answer to a join.</summary>
    JoinReply = 5,

    /// <summary>A datagram carrying only piggybacked updates.</summary>
    Gossip = 6,

    /// <summary>A membership update (piggybacked: several per datagram).</summary>
    Update = 7,

    /// <summary>A push-pull full-state exchange over a stream.</summary>
    PushPull = 8,

    /// <summary>A fallback probe over a stream.</summary>
    StreamPing = 9,
}

/// <summary>Counters of one SWIM member, for metrics. Monotonic for the life of the incarnation.</summary>
public sealed class SwimCounters
{
    private static readonly int KindCount = Enum.GetValues<SwimTraffic>().Length;

    private readonly long[] _sent = new long[KindCount];
    private readonly long[] _received = new long[KindCount];

    /// <summary>Datagrams or frames that failed to decode or validate (dropped).</summary>
    public long Malformed { get; internal set; }

    /// <summary>Probes that got no ack, direct or indirect (the target became suspect).</summary>
    public long ProbesFailed { get; internal set; }

    /// <summary>Probes answered.</summary>
    public long ProbesSucceeded { get; internal set; }

    /// <summary>Times this node refuted a suspicion or death of itself.</summary>
    public long Refutations { get; internal set; }

    /// <summary>Push-pull exchanges that failed (connect, timeout, broken stream).</summary>
    public long PushPullsFailed { get; internal set; }

    /// <summary>How many of <paramref name="kind"/> were sent.</summary>
    public long Sent(SwimTraffic kind) => _sent[(int)kind];

    /// <summary>How many of <paramref name="kind"/> were received.</summary>
    public long Received(SwimTraffic kind) => _received[(int)kind];

    internal void CountSent(SwimTraffic kind, long count = 1) => _sent[(int)kind] += count;

    internal void CountReceived(SwimTraffic kind, long count = 1) => _received[(int)kind] += count;
}
