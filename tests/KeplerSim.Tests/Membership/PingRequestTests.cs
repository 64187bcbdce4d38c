using System.Globalization;
using KeplerSim.Core.Membership;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// A cut between a prober and its target, with every indirect path intact: ping-req (probes relayed by other
/// members) must keep the target alive. The generated chaos property missed a SWIM without indirect probes (12
/// failed probes, 10 suspicions, still green); these tests bound both absolutely.
/// </summary>
[Trait("Category", "Fast")]
public sealed class PingRequestTests(ITestOutputHelper output)
{
    private const long CutMicroseconds = 60 * SimHarness.Second;

    // With ping-req every probe across the cut is acked through a relay. One failure or suspicion of slack per
    // side covers a probe that starts just as the cut lands; without ping-req a minute brings about 12 of each.
    private const long FailedProbesMax = 1;
    private const int SuspicionsMax = 1;

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void A_cut_link_with_indirect_paths_keeps_both_ends_alive(ulong seed)
    {
        var (failed, suspicions, deaths) = RunCut(seed, new SwimOptions());
        Assert.True(deaths == 0, $"seed {seed}: {deaths} death(s) declared across a cut link with relays intact");
        Assert.True(failed <= FailedProbesMax, $"seed {seed}: {failed} failed probes across the cut (bound " +
            $"{FailedProbesMax}): ping-req should have acked them through a relay");
        Assert.True(suspicions <= SuspicionsMax, $"seed {seed}: {suspicions} suspicion(s) of a cut end (bound " +
            $"{SuspicionsMax})");
    }

    /// <summary>
    /// The bounds above can fail: with ping-req off (no relays) the same cut fails probes and raises suspicions
    /// well past them, which is what the test above guards against.
    /// </summary>
    [Fact]
    public void Without_ping_req_the_same_cut_breaks_the_bounds()
    {
        var (failed, suspicions, _) = RunCut(1, new SwimOptions { IndirectChecks = 0 });
        Assert.True(failed > FailedProbesMax, $"{failed} failed probes without ping-req");
        Assert.True(suspicions > SuspicionsMax, $"{suspicions} suspicions without ping-req");
    }

    /// <summary>
    /// Five nodes converge, then the link n1 ↔ n2 is cut both ways (datagrams and streams: the stream fallback
    /// probe cannot help) for a minute while every other link works. Returns n1's and n2's failed probes, the
    /// suspicions of n1 or n2 anybody raised, and the deaths anybody declared.
    /// </summary>
    private (long Failed, int Suspicions, int Deaths) RunCut(ulong seed, SwimOptions options)
    {
        using var cluster = SwimCluster.Create(5, seed, options);
        cluster.RunUntilConverged(20 * SimHarness.Second);
        var (prober, target) = (cluster.Nodes[0], cluster.Nodes[1]);
        var failedBefore = cluster.Swim(prober).Counters.ProbesFailed + cluster.Swim(target).Counters.ProbesFailed;
        var cutAt = cluster.Sim.Now;
        cluster.Sim.Network.Partition([prober], [target]);
        cluster.Sim.RunFor(CutMicroseconds);

        var failed = cluster.Swim(prober).Counters.ProbesFailed + cluster.Swim(target).Counters.ProbesFailed
            - failedBefore;
        var ends = new[] { prober, target };
        var suspicions = ends.Sum(n => cluster.Seen(n, MemberStatus.Suspect, cutAt).Count());
        var deaths = cluster.Observations.Count(o => o.Time >= cutAt && o.Member.Status == MemberStatus.Dead);
        Assert.All(cluster.Nodes, n => Assert.Equal(SimNodeState.Running, n.State));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seed {seed}, indirect checks {options.IndirectChecks}: {failed} failed probes, {suspicions} " +
            $"suspicions, {deaths} deaths in {CutMicroseconds / SimHarness.Second} s of a cut n1-n2"));
        return (failed, suspicions, deaths);
    }
}
