using System.Globalization;
using KeplerSim.Core.Membership;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Membership;

public sealed class SwimScaleTests(ITestOutputHelper output)
{
    private const long Second = SimHarness.Second;

    /// <summary>With stream fallback probes (the default) datagram loss alone never even raises a suspicion.</summary>
    [Theory]
    [Trait("Category", "Fast")]
    [InlineData(5, 3600)]
    [InlineData(50, 300)]
    public void No_live_node_is_suspected_under_ten_percent_loss(int nodes, int seconds)
    {
        var (suspicions, deaths, _) = MeasureFalseDeaths(nodes, seconds, seed: 11, new SwimOptions());
        Assert.Equal(0, suspicions);
        Assert.Equal(0, deaths);
    }

    /// <summary>
    /// Datagrams only (no stream fallback): suspicions are frequent at 10 % loss and must be refuted in time.
    /// Lifeguard, re-announcing on stale accusations and restarting suspicions of a newer incarnation keep false
    /// deaths rare; the rate is measured and bounded, not zero (SWIM's piggyback can miss a straggler).
    /// </summary>
    [Theory]
    [Trait("Category", "Fast")]
    [InlineData(5, 3600)]
    [InlineData(50, 300)]
    public void Datagram_only_probing_rarely_declares_a_live_node_dead_under_ten_percent_loss(int nodes, int seconds)
    {
        var (suspicions, deaths, refutations) = MeasureFalseDeaths(nodes, seconds, seed: 11,
            new SwimOptions { StreamFallbackProbes = false });
        Assert.True(refutations > 0, "the run exercised refutation");
        Assert.True(deaths * 100 <= refutations, $"{deaths} false-death observations for {refutations} refutations");
        Assert.True(suspicions > 0, "the run exercised suspicion");
    }

    /// <summary>The full hour for 50 nodes, both ways: the long tier (KEPLER_LONG=1); skipped otherwise.</summary>
    [LongFact]
    public void Fifty_nodes_under_ten_percent_loss_for_an_hour()
    {
        MeasureFalseDeaths(50, 3600, seed: 12, new SwimOptions());
        var (_, deaths, refutations) = MeasureFalseDeaths(50, 3600, seed: 12,
            new SwimOptions { StreamFallbackProbes = false });
        Assert.True(deaths * 100 <= refutations, $"{deaths} false-death observations for {refutations} refutations");
    }

    private (int Suspicions, int Deaths, long Refutations) MeasureFalseDeaths(int nodes, int seconds, ulong seed,
        SwimOptions options)
    {
        using var cluster = SwimCluster.Create(nodes, seed, options);
        cluster.RunUntilConverged(60 * Second);
        cluster.Sim.Network.Defaults = cluster.Sim.Network.Defaults with { LossProbability = 0.1 };
        var lossFrom = cluster.Sim.Now;
        cluster.Sim.RunFor(seconds * Second);

        var after = cluster.Observations.Where(o => o.Time >= lossFrom).ToList();
        var suspicions = after.Count(o => o.Member.Status == MemberStatus.Suspect);
        var deaths = after.Count(o => o.Member.Status == MemberStatus.Dead);
        var swims = cluster.Nodes.Select(cluster.Swim).ToList();
        var probes = swims.Sum(s => s.Counters.ProbesSucceeded + s.Counters.ProbesFailed);
        var refutations = swims.Sum(s => s.Counters.Refutations);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{nodes} nodes, 10% loss, {seconds} s, stream fallback {options.StreamFallbackProbes}: {probes} probes, "
            + $"{swims.Sum(s => s.Counters.ProbesFailed)} failed, {suspicions} suspect observations, "
            + $"{refutations} refutations, {deaths} false-death observations "
            + $"({after.Where(o => o.Member.Status == MemberStatus.Dead).Select(o => o.Member.Id).Distinct().Count()} "
            + $"nodes); max health score {swims.Max(s => s.HealthScore)}"));
        cluster.Sim.Network.Defaults = cluster.Sim.Network.Defaults with { LossProbability = 0 };
        cluster.RunUntilConverged(60 * Second);
        return (suspicions, deaths, refutations);
    }

    /// <summary>
    /// 100 nodes with 200-byte metadata join through one seed (a burst of large pending updates), then one
    /// leaves: the news must reach the other 99 in O(log n) gossip rounds, and no datagram may exceed the MTU.
    /// </summary>
    [Fact]
    [Trait("Category", "Fast")]
    public void A_change_reaches_a_hundred_nodes_in_logarithmic_rounds_and_no_datagram_exceeds_the_mtu()
    {
        var largest = 0L;
        var datagrams = 0L;
        using var cluster = SwimCluster.Create(100, seed: 5, metadataBytes: 200);
        var mtu = cluster.Sim.Network.Defaults.MtuBytes;
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Kind == TraceKind.DatagramSent)
            {
                datagrams++;
                largest = Math.Max(largest, record.A);
            }
        };
        cluster.RunUntilConverged(120 * Second);
        cluster.Sim.RunFor(10 * Second);

        var leaver = cluster.Nodes[49];
        var leftAt = cluster.Sim.Now;
        _ = leaver.Spawn(_ => cluster.Swim(leaver).LeaveAsync());
        cluster.RunUntil(() => cluster.AllSee(leaver, MemberStatus.Left), 30 * Second,
            "every node to see the leave", 10_000);
        var reached = cluster.FirstSeen(leaver, MemberStatus.Left, leftAt).Values.Select(t => (t - leftAt) / 1e6)
            .ToList();
        var round = cluster.Options.GossipIntervalMicroseconds / 1e6;
        var rounds = reached.Max() / round;
        var bound = 3 * Math.Log2(100);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"leave reached all 99 in {reached.Max():F2} s = {rounds:F1} gossip rounds (bound 3·log2 n = {bound:F1}); "
            + $"half of them in {Stats.Quantile(reached, 0.5) / round:F1} rounds"));
        output.WriteLine($"{datagrams} datagrams, largest {largest} bytes (MTU {mtu})");

        Assert.True(rounds <= bound, $"{rounds:F1} rounds exceeds {bound:F1}");
        Assert.True(largest <= mtu, $"a datagram of {largest} bytes exceeds the MTU {mtu}");
        Assert.True(largest > mtu - 300, $"the piggyback budget was never under pressure (largest {largest})");
    }
}
