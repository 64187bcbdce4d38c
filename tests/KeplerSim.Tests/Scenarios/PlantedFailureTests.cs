using KeplerSim.Sim.Cli;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>
/// A planted exception in a KeplerFS background task fails the scenario run and the report names the task,
/// the node, the virtual time, the seed and the replay command (issue 13: failures fail the run). Before the
/// supervisor the replication worker turned such an exception into a retry and the run passed.
/// </summary>
[Trait("Category", "Fast")]
public sealed class PlantedFailureTests
{
    private const string Yaml = """
        name: planted-failure
        description: fast writes on three KeplerFS nodes, so the coordinators deliver queued copies
        seed: 5
        duration: 4s
        cluster:
          nodes: 3
          protocol: keplerfs
          replication_factor: 2
          chunk_size: 16KiB
        workloads:
          - name: data
            rate: 20
            size_min: 8KiB
            size_max: 40KiB
            paths: 10
            durability: fast
            stop: 3s
        expect:
          converge_within: 30s
        """;

    [Fact]
    public void Without_a_plant_the_run_passes()
    {
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(Yaml, "planted-failure.yaml"), 5);
        Assert.True(result.Passed, Describe(result));
    }

    [Fact]
    public void A_planted_exception_in_a_replication_delivery_fails_the_run_and_names_the_task()
    {
        var plant = new PlantedFailure("n1", "replication.deliver", AfterMicroseconds: 1_000_000);
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(Yaml, "planted-failure.yaml"), 5, plant: plant);

        Assert.False(result.Passed, "a planted failure must fail the run");
        var failure = Assert.Single(result.Expectations, e => e.Name == "simulation");
        Assert.Equal(ExpectationStatus.Fail, failure.Status);
        Assert.Contains("background task 'replication.deliver' on node n1 failed at 1.", failure.Detail,
            StringComparison.Ordinal);
        Assert.Contains("(seed 5)", failure.Detail, StringComparison.Ordinal);
        Assert.Contains(nameof(PlantedFailureException), failure.Detail, StringComparison.Ordinal);
        // Stopped at once: virtual time ends at the failure, not after the duration and the liveness phase.
        Assert.InRange(result.VirtualMicroseconds, 1_000_000, 2_000_000);

        using var report = new StringWriter();
        ReportPrinter.Print(report, result);
        Assert.Contains("replay:       kepler-sim replay planted-failure.yaml --seed 5", report.ToString(),
            StringComparison.Ordinal);
        Assert.Contains("result:       FAIL", report.ToString(), StringComparison.Ordinal);
    }

    private static string Describe(RunResult result) =>
        string.Join("\n", result.Expectations.Select(e => $"{e.Status} {e.Name}: {e.Detail}"));
}
