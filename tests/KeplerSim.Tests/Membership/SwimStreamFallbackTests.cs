using KeplerSim.Core.Membership;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// memberlist's TCP fallback probe, on its own: two members (so no relay can help) whose datagrams to each other
/// are all lost while streams work. Only the stream ping keeps them alive. Written to kill Stryker survivors in
/// SwimMember.Streams.cs and SwimMember.Probe.cs that only the slow SwimScaleTests reached (see docs/TESTING.md,
/// "Mutation testing").
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimStreamFallbackTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void Lost_datagrams_with_working_streams_raise_no_suspicion()
    {
        using var cluster = SwimCluster.Create(2, 7);
        cluster.RunUntilConverged(10 * Second);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var lost = new NetworkFaults { LossProbability = 1 };
        cluster.Sim.Network.SetLinkFaults(a, b, lost);
        cluster.Sim.Network.SetLinkFaults(b, a, lost);
        var cutAt = cluster.Sim.Now;
        var sentBefore = cluster.Swim(a).Counters.Sent(SwimTraffic.StreamPing);

        // Kills Streams.cs:71 (the stream ack not counted as hearing from the target): with every datagram lost,
        // a stream ack about once a second is all a hears from b (push-pull runs every 30 s), so b's "last heard"
        // at a stays within two probe intervals (the status API's lastHeardSecondsAgo).
        long ageMax = 0;
        for (var t = 0; t < 30; t++)
        {
            cluster.Sim.RunFor(Second);
            var heard = cluster.Swim(a).LastHeardMicroseconds(b.Id);
            Assert.NotNull(heard);
            ageMax = Math.Max(ageMax, t < 2 ? 0 : a.Runtime!.Clock.MonotonicMicroseconds - heard.Value);
        }

        Assert.True(ageMax <= 2 * Second, $"b went unheard at a for {ageMax} us while its stream acks arrived");

        // Kills: the stream ack's sequence check inverted (ack.Sequence != probe.Sequence), StreamAcked never set,
        // the stream ack's "true" replaced by "false": each turns every probe into a failure and a suspicion.
        Assert.Empty(cluster.Seen(a, MemberStatus.Suspect, cutAt));
        Assert.Empty(cluster.Seen(b, MemberStatus.Suspect, cutAt));
        Assert.Equal(0, cluster.Swim(a).Counters.ProbesFailed + cluster.Swim(b).Counters.ProbesFailed);

        // Kills: the stream-ping send and receive counters removed. About one probe a second, each by stream.
        var sent = cluster.Swim(a).Counters.Sent(SwimTraffic.StreamPing) - sentBefore;
        Assert.InRange(sent, 20, 40);
        Assert.True(cluster.Swim(b).Counters.Received(SwimTraffic.StreamPing) >= sent,
            "every stream ping a sent was counted by b");
    }
}
