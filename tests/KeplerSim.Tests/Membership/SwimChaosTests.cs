using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

[Trait("Category", "Fast")]
public sealed class SwimChaosTests
{
    private const long Second = SimHarness.Second;

    private static string Run(ulong seed, double buggify)
    {
        var network = new NetworkFaults
        {
            LossProbability = 0.05,
            DuplicationProbability = 0.02,
            ReorderProbability = 0.05,
        };
        using var cluster = SwimCluster.Create(8, seed, network: network, buggify: buggify);
        cluster.RunUntilConverged(30 * Second);
        cluster.Nodes[3].Crash();
        cluster.Nodes[5].Pause();
        cluster.Sim.RunFor(20 * Second);
        cluster.Nodes[5].Resume();
        cluster.Nodes[3].Start();
        cluster.RunUntil(cluster.Converged, 120 * Second, "the cluster to converge after crash, pause and restart");
        return cluster.Sim.Trace.Hash;
    }

    [Fact]
    public void The_same_seed_gives_the_same_trace()
    {
        Assert.Equal(Run(21, buggify: 0), Run(21, buggify: 0));
        Assert.NotEqual(Run(21, buggify: 0), Run(22, buggify: 0));
    }

    /// <summary>Every buggify site on (each fires 5 %): dropped acks, tiny piggybacks, skipped ping-reqs.</summary>
    [Theory]
    [InlineData(31UL)]
    [InlineData(32UL)]
    [InlineData(33UL)]
    public void Converges_after_faults_with_every_buggify_site_enabled(ulong seed)
    {
        Run(seed, buggify: 1.0);
    }
}
