using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Node.Tests.RealMode;

/// <summary>scenarios/fast/crash-mid-replication.yaml against four real processes (issue 19).</summary>
[Collection(RealModeRuns.Collection)]
public sealed class RealCrashMidReplicationTests
{
    [Fact]
    public async Task Crash_mid_replication_drains_the_queue_on_real_processes()
    {
        var scenario = ScenarioLoader.LoadFile(RealModeRuns.Scenario("fast/crash-mid-replication.yaml"));

        var result = await RealModeRuns.RunAsync(scenario);

        RealModeRuns.AssertInvariantsHeld(result);
        // Judged across the kill: the stream of n1 followed again after its restart (a second subscription).
        RealModeRuns.AssertEventChecksHeld(result);
        Assert.True(result.Metrics.GetValueOrDefault("ops.put.ok") > 0, RealModeRuns.Report(result));
        Assert.Equal(1, result.Metrics.GetValueOrDefault("faults.crash"));
        // The SIGKILL ended the process: the restart step started a new one (a second epoch).
        Assert.True(result.Timeline.Any(t => t.Text.StartsWith("n1: started (restart, epoch 2",
            StringComparison.Ordinal)),
            RealModeRuns.Report(result));
        // SIGKILL with a full queue, then a restart: the SQLite queue survived and drained.
        Assert.Contains(result.Expectations, e => e.Name == InvariantCatalog.QueuesEmpty
            && e.Status == ExpectationStatus.Pass);
    }
}
