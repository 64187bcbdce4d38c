using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Node.Tests.RealMode;

/// <summary>scenarios/fast/split-brain.yaml against five real processes (issue 19).</summary>
public sealed class RealSplitBrainTests
{
    [Fact]
    public async Task Split_brain_holds_every_invariant_on_real_processes()
    {
        var scenario = ScenarioLoader.LoadFile(RealModeRuns.Scenario("fast/split-brain.yaml"));

        var result = await RealModeRuns.RunAsync(scenario);

        RealModeRuns.AssertInvariantsHeld(result);
        Assert.True(result.RealMode is not null, "the run says how it ran");
        // Both sides of the partition wrote shared/config; after the heal every node reads one winner.
        Assert.Contains(result.Expectations, e => e.Name == InvariantCatalog.WinnersAgree
            && e.Status == ExpectationStatus.Pass);
        Assert.Contains(result.Expectations, e => e.Name.StartsWith("step 7 ", StringComparison.Ordinal)
            && e.Status == ExpectationStatus.Pass);
    }
}
