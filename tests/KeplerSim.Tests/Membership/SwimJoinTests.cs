using KeplerSim.Core.Membership;
using KeplerSim.Tests.Sim;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Membership;

[Trait("Category", "Fast")]
public sealed class SwimJoinTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Five_nodes_joining_through_one_seed_converge_to_all_alive(ulong seed)
    {
        using var cluster = SwimCluster.Create(5, seed);
        cluster.RunUntilConverged(10 * SimHarness.Second);
        output.WriteLine($"seed {seed}: converged after {cluster.Sim.Now / 1000} ms");

        foreach (var node in cluster.Nodes)
        {
            var swim = cluster.Swim(node);
            Assert.True(swim.IsJoined, $"{node.Name} finished its join sync");
            Assert.Equal(5, swim.Members.Count);
            Assert.All(swim.Members, m => Assert.Equal(0, m.Incarnation));
            var peer = swim.Find(cluster.Nodes[(node.Index + 1) % 5].Id)!;
            Assert.Equal(cluster.Nodes[(node.Index + 1) % 5].TransferAddress, peer.TransferAddress);
        }

        // Quiet afterwards: a healthy cluster neither suspects nor refutes.
        cluster.Sim.RunFor(60 * SimHarness.Second);
        Assert.True(cluster.Converged(), "still converged after a quiet minute");
        Assert.DoesNotContain(cluster.Observations, o => o.Member.Status != MemberStatus.Alive);
        Assert.All(cluster.Nodes, n => Assert.Equal(0, cluster.Swim(n).Counters.ProbesFailed));
        Assert.All(cluster.Nodes, n => Assert.True(cluster.Swim(n).Counters.Sent(SwimTraffic.PushPull) > 0,
            $"{n.Name} ran periodic push-pull"));
    }
}
