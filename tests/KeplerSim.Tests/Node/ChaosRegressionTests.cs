using KeplerSim.Sim.KeplerFs;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class ChaosRegressionTests
{
    /// <summary>
    /// Regression, chaos seed 11 (tests/KeplerSim.Bench chaos): a queue entry for a chunk this node no longer
    /// held (dropped as surplus after a SWIM ring change) was retried for ever as "no local copy", so the queue
    /// never drained and the cluster never converged.
    /// </summary>
    [Fact]
    public void Chaos_seed_11_converges_and_breaks_no_invariant()
    {
        var result = KeplerChaosRun.Run(ChaosCommand.Options, 11);
        Assert.True(result.Problems.Count == 0, string.Join("\n", result.Problems));
        Assert.True(result.Converged);
        Assert.True(result.Acknowledged > 0, "the workload acknowledged nothing");
    }
}
