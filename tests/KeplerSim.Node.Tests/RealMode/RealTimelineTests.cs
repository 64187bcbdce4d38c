using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Node.Tests.RealMode;

/// <summary>
/// How real mode keeps a file's timeline the simulator's: a start holds the timeline (a simulated start takes no
/// time), and clock and disk steps reach the node through its test-only fault setting (KEPLER_TEST_FAULTS).
/// </summary>
[Collection(RealModeRuns.Collection)]
public sealed class RealTimelineTests
{
    // Each step is timed as the simulator allows and a real node does not: the put 500 ms after the restart found
    // the node still starting (connection refused) before the timeline held for starts; the clock and disk steps
    // were N/A before KEPLER_TEST_FAULTS. The full put needs the quota (507 disk_full), the last one its return.
    private const string File = """
        name: real-timeline
        seed: 5
        duration: 6s
        cluster: { nodes: 2, protocol: keplerfs, replication_factor: 2, chunk_size: 32KiB }
        steps:
          - { at: 1s, restart: n1 }
          - { at: 1500ms, put: after-restart, on: n1, size: 10KiB, durability: fast }
          - { at: 2s, clock: n1, skew: 3600s }
          - { at: 2s, disk: n2, set: { capacity_mb: 0.001 } }
          - { at: 2500ms, put: full, on: n2, size: 64KiB, durability: fast, expect: error }
          - { at: 3500ms, disk: n2, set: { capacity_mb: 1000 } }
          - { at: 4s, put: room-again, on: n2, size: 64KiB, durability: fast }
        expect:
          converge_within: 60s
        """;

    [Fact]
    public async Task Steps_after_a_restart_and_clock_and_disk_steps_run_as_simulated()
    {
        var scenario = ScenarioLoader.Parse(File, "real-timeline.yaml");
        var simulated = ScenarioRunner.Run(scenario, scenario.Seed);
        Assert.True(simulated.Passed, RealModeRuns.Report(simulated));

        var result = await RealModeRuns.RunAsync(scenario);

        var report = RealModeRuns.Report(result);
        RealModeRuns.AssertInvariantsHeld(result);
        Assert.DoesNotContain(result.Expectations, e => e.Name.StartsWith("step ", StringComparison.Ordinal)
            && e.Status != ExpectationStatus.Pass && e.Status != ExpectationStatus.NotApplicable);
        foreach (var step in new[] { 1, 4, 6 })
        {
            Assert.True(result.Expectations.Any(e => e.Name.StartsWith($"step {step} ", StringComparison.Ordinal)
                && e.Status == ExpectationStatus.Pass), $"step {step} did not pass\n{report}");
        }

        Assert.DoesNotContain(result.Expectations, e => e.Status == ExpectationStatus.NotApplicable
            && e.Name.StartsWith("step ", StringComparison.Ordinal));
        Assert.True(result.Timeline.Any(t => t.Text.Contains("\"skewMicroseconds\":3600000000",
            StringComparison.Ordinal)), $"n1 did not take the clock step\n{report}");
        Assert.True(result.Metrics.GetValueOrDefault("timeline.held_seconds") > 0, report);
    }
}
