using KeplerSim.Sim.Scenarios;
using KeplerSim.Tests.Chaos;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class ChaosRegressionTests
{
    /// <summary>
    /// Regression, chaos seed 11 (first found by the bench's chaos command, now scenarios/slow/chaos-swim-buggify.yaml):
    /// a queue entry for a chunk this node no longer held (dropped as surplus after a SWIM ring change) was retried
    /// for ever as "no local copy", so the queue never drained and the cluster never converged.
    /// </summary>
    [Fact]
    public void Chaos_seed_11_converges_and_breaks_no_invariant()
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario("slow/chaos-swim-buggify.yaml"));
        var result = ScenarioRunner.Run(scenario, 11);
        Assert.True(result.Passed, ChaosRunner.Failures(result));
        Assert.True(result.Metrics.GetValueOrDefault("ops.put.ok") > 0, "the workload acknowledged nothing");
    }
}
