using KeplerSim.Core.Membership;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// SWIM's traffic counters (the real node's <c>kepler_swim_*</c> metrics): the piggybacked updates a node sends are
/// counted as it sends them, so across a lossless cluster no node can have received more than were sent.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimTrafficCounterTests
{
    /// <summary>
    /// Kills the Stryker survivor SwimMember.Datagrams.cs:245 (twelfth session): the sent updates' counter removed,
    /// so the metric read zero while every datagram carried updates.
    /// </summary>
    [Fact]
    public void Updates_sent_are_counted_and_no_more_are_received_than_were_sent()
    {
        using var cluster = SwimCluster.Create(4, 61);
        cluster.RunUntilConverged(20 * SimHarness.Second);
        cluster.Sim.RunFor(10 * SimHarness.Second);
        var sent = cluster.Nodes.Sum(n => cluster.Swim(n).Counters.Sent(SwimTraffic.Update));
        var received = cluster.Nodes.Sum(n => cluster.Swim(n).Counters.Received(SwimTraffic.Update));
        Assert.True(received > 0, "the join's alive updates were piggybacked and received");
        Assert.True(sent >= received, $"{received} updates received but only {sent} counted as sent (no loss here)");
    }
}
