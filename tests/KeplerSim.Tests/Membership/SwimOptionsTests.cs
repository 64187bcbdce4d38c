using KeplerSim.Core.Membership;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// Every limit <see cref="SwimOptions.Validate"/> enforces, at its boundary: the last legal value passes, the first
/// illegal one is refused with a message naming the setting. Written for the Stryker survivors of
/// SwimOptions.cs (each check removed, or its comparison moved by one, passed every test before).
/// </summary>
public sealed class SwimOptionsTests
{
    public static TheoryData<string, Func<SwimOptions, SwimOptions>, Func<SwimOptions, SwimOptions>> Limits() =>
        new()
    {
        { "probe interval", o => o with { ProbeIntervalMicroseconds = 2, ProbeTimeoutMicroseconds = 1 },
            o => o with { ProbeIntervalMicroseconds = 0 } },
        { "probe timeout must be > 0", o => o with { ProbeTimeoutMicroseconds = 1 },
            o => o with { ProbeTimeoutMicroseconds = 0 } },
        { "probe timeout must be < probe interval",
            o => o with { ProbeTimeoutMicroseconds = o.ProbeIntervalMicroseconds - 1 },
            o => o with { ProbeTimeoutMicroseconds = o.ProbeIntervalMicroseconds } },
        { "indirect checks", o => o with { IndirectChecks = 0 }, o => o with { IndirectChecks = -1 } },
        { "indirect checks", o => o with { IndirectChecks = SwimMember.IndirectChecksMax },
            o => o with { IndirectChecks = SwimMember.IndirectChecksMax + 1 } },
        { "suspicion multiplier", o => o with { SuspicionMultiplier = 1 }, o => o with { SuspicionMultiplier = 0 } },
        { "suspicion max timeout multiplier", o => o with { SuspicionMaxTimeoutMultiplier = 1 },
            o => o with { SuspicionMaxTimeoutMultiplier = 0 } },
        { "gossip interval", o => o with { GossipIntervalMicroseconds = 1 },
            o => o with { GossipIntervalMicroseconds = 0 } },
        { "gossip nodes", o => o with { GossipNodes = 1 }, o => o with { GossipNodes = 0 } },
        { "gossip nodes", o => o with { GossipNodes = SwimMember.GossipNodesMax },
            o => o with { GossipNodes = SwimMember.GossipNodesMax + 1 } },
        { "gossip to the dead", o => o with { GossipToTheDeadMicroseconds = 0 },
            o => o with { GossipToTheDeadMicroseconds = -1 } },
        { "retransmit multiplier", o => o with { RetransmitMultiplier = 1 }, o => o with { RetransmitMultiplier = 0 } },
        { "push-pull interval", o => o with { PushPullIntervalMicroseconds = 1 },
            o => o with { PushPullIntervalMicroseconds = 0 } },
        { "awareness max multiplier", o => o with { AwarenessMaxMultiplier = 1 },
            o => o with { AwarenessMaxMultiplier = 0 } },
        { "join retry interval", o => o with { JoinRetryIntervalMicroseconds = 1 },
            o => o with { JoinRetryIntervalMicroseconds = 0 } },
        { "dead retention", o => o with { DeadRetentionMicroseconds = o.GossipToTheDeadMicroseconds },
            o => o with { DeadRetentionMicroseconds = o.GossipToTheDeadMicroseconds - 1 } },
        { "stream timeout", o => o with { StreamTimeoutMicroseconds = 1 },
            o => o with { StreamTimeoutMicroseconds = 0 } },
        { "leave timeout", o => o with { LeaveTimeoutMicroseconds = 0 },
            o => o with { LeaveTimeoutMicroseconds = -1 } },
    };

    [Theory]
    [MemberData(nameof(Limits))]
    public void Each_limit_admits_its_last_legal_value_and_refuses_the_next(string setting,
        Func<SwimOptions, SwimOptions> legal, Func<SwimOptions, SwimOptions> illegal)
    {
        var defaults = new SwimOptions();
        defaults.Validate();
        legal(defaults).Validate();
        var error = Assert.ThrowsAny<ArgumentException>(() => illegal(defaults).Validate());
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }
}
