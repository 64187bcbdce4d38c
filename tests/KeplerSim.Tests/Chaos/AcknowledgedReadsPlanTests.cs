using KeplerSim.Sim.Invariants;

namespace KeplerSim.Tests.Chaos;

/// <summary>
/// <see cref="AcknowledgedReads.Plan{T}"/>, the final reads both drivers issue: every path on every node of a
/// small cluster; in a large one a bounded, distinct set of nodes per path that still reaches every node (reading
/// every path on all of cluster-1000's nodes issued up to 2 million reads at once).
/// </summary>
[Trait("Category", "Fast")]
public sealed class AcknowledgedReadsPlanTests
{
    [Fact]
    public void A_small_cluster_reads_every_path_on_every_node()
    {
        var nodes = Enumerable.Range(1, 5).Select(i => $"n{i}").ToList();
        var plan = AcknowledgedReads.Plan(["a", "b"], nodes, out var described);
        Assert.Equal("5", described);
        Assert.Equal(["a", "b"], plan.Select(r => r.Path).Distinct());
        Assert.All(plan.GroupBy(r => r.Path), g => Assert.Equal(nodes, g.Select(r => r.Node).Order()));
    }

    [Fact]
    public void A_large_cluster_reads_each_path_on_distinct_nodes_rotating_over_all_of_them()
    {
        var nodes = Enumerable.Range(1, 40).Select(i => $"n{i:00}").ToList();
        var paths = new[] { "a", "b", "c" };
        var plan = AcknowledgedReads.Plan(paths, nodes, out var described);
        Assert.Equal($"{AcknowledgedReads.NodesPerPathMax} of 40", described);
        Assert.Equal(paths.Length * AcknowledgedReads.NodesPerPathMax, plan.Count);
        Assert.All(plan.GroupBy(r => r.Path), g =>
            Assert.Equal(AcknowledgedReads.NodesPerPathMax, g.Select(r => r.Node).Distinct().Count()));
        Assert.Equal(nodes, plan.Select(r => r.Node).Distinct().Order()); // 3 x 16 >= 40: every node reads.
    }
}
