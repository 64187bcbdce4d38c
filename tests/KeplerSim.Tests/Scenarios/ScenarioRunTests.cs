using KeplerSim.Sim.Cli;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>Runs scenarios in-process (file steps on a fake file service) and through the CLI.</summary>
[Trait("Category", "Fast")]
public sealed class ScenarioRunTests
{
    private const string FileSteps = """
        name: file-steps
        duration: 10s
        cluster:
          nodes: 3
          protocol: test-files
        workloads:
          - name: mixed
            rate: 50
            puts: 2
            gets: 1
            deletes: 1
            paths: 8
            stop: 8s
        steps:
          - at: 1s
            put: a.txt
            on: n1
            content: hello
          - at: 2s
            get: a.txt
            on: n3
            expect: equal
          - at: 2s
            get: missing
            on: n2
            expect: not_found
          - at: 3s
            list: a
            on: n2
            count: 1
          - at: 4s
            crash: n2
            restart_after: 1s
          - at: 4s
            wait_until: all_running
            timeout: 2s
          - at: 6s
            delete: a.txt
            on: n1
          - at: 7s
            get: a.txt
            on: n1
            expect: not_found
        """;

    static ScenarioRunTests() => FakeFileProtocol.Register();

    [Fact]
    public void File_steps_workloads_and_waits_pass_on_an_ideal_store()
    {
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(FileSteps, "file-steps.yaml"), 5);
        var report = Report(result);
        Assert.True(result.Passed, report);
        Assert.Contains(result.Expectations, e => e.Name.Contains("get a.txt on n3 expect equal",
            StringComparison.Ordinal)
            && e.Status == ExpectationStatus.Pass);
        var reads = Assert.Single(result.Expectations, e => e.Name == InvariantCatalog.AcknowledgedWritesReadable);
        Assert.Equal(ExpectationStatus.Pass, reads.Status);
        Assert.True(result.Metrics["ops.put.ok"] > 50, report);
        Assert.Contains(result.Expectations, e => e.Name.Contains("wait_until all_running", StringComparison.Ordinal)
            && e.Detail.StartsWith("held after 1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_step_expectation_is_named_in_the_report()
    {
        var text = FileSteps.Replace("expect: not_found\n  - at: 3s", "expect: ok\n  - at: 3s",
            StringComparison.Ordinal);
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(text, "file-steps.yaml"), 5);
        Assert.False(result.Passed);
        var failed = Assert.Single(result.Expectations, e => e.Status == ExpectationStatus.Fail);
        Assert.Equal("step 2 at 2s: get missing on n2 expect ok", failed.Name);
        Assert.Equal("not_found", failed.Detail);
    }

    [Fact]
    public void Same_seed_same_hash_and_a_workload_depends_on_the_seed()
    {
        var scenario = ScenarioLoader.Parse(FileSteps, "file-steps.yaml");
        var a = ScenarioRunner.Run(scenario, 5);
        var b = ScenarioRunner.Run(ScenarioLoader.Parse(FileSteps, "file-steps.yaml"), 5);
        var c = ScenarioRunner.Run(ScenarioLoader.Parse(FileSteps, "file-steps.yaml"), 6);
        Assert.Equal(a.TraceHash, b.TraceHash);
        Assert.NotEqual(a.TraceHash, c.TraceHash);
    }

    [Fact]
    public void Broken_expectation_exits_1_and_replay_reproduces_the_trace_hash_in_another_process()
    {
        var file = TempScenario("""
            name: broken
            duration: 5s
            cluster:
              nodes: 3
            network:
              loss: 0.1
            chaos:
              crash_rate: 0.2
            expect:
              metrics:
                datagrams.delivered: ">= 1000000000"
            """);
        var run = Repo.RunSim("run", file, "--seed", "77");
        Assert.True(run.ExitCode == 1, run.Output);
        Assert.Contains("FAIL  metric datagrams.delivered >= 1000000000: datagrams.delivered = ", run.Output,
            StringComparison.Ordinal);
        Assert.Contains("result:       FAIL (", run.Output, StringComparison.Ordinal);
        var replay = Repo.Field(run.Output, "replay");
        Assert.StartsWith($"kepler-sim replay {file} --seed 77 --trace ", replay, StringComparison.Ordinal);

        var trace = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.jsonl");
        var again = Repo.RunSim("replay", file, "--seed", "77", "--trace", trace);
        Assert.True(again.ExitCode == 1, again.Output);
        Assert.Equal(Repo.Field(run.Output, "trace hash"), Repo.Field(again.Output, "trace hash"));
        Assert.Equal(Repo.Field(run.Output, "events"), Repo.Field(again.Output, "events"));
        Assert.True(new FileInfo(trace).Length > 0, "replay wrote no trace");
    }

    [Fact]
    public void Swarm_outcomes_do_not_depend_on_the_job_count_and_vary_the_profile()
    {
        var file = TempScenario("""
            name: swarm-small
            duration: 3s
            cluster:
              nodes: 4
            network:
              loss: 0.2
            chaos:
              crash_rate: 0.5
              partition_rate: 0.5
            swarm:
              vary: [network.loss, chaos.crash_rate, chaos.partition_rate]
            """);
        var serial = SwarmRunner.Run([file], 1, 6, jobs: 1);
        var parallel = SwarmRunner.Run([file], 1, 6, jobs: 2);
        Assert.Equal(serial.Select(o => (o.Seed, o.TraceHash)), parallel.Select(o => (o.Seed, o.TraceHash)));
        Assert.All(serial, o => Assert.True(o.Passed, o.Failure));

        var scenario = ScenarioLoader.LoadFile(file);
        var choices = SwarmKnobs.Apply(scenario, 3);
        Assert.Equal(3, choices.Count);
        var replay = ScenarioRunner.Run(scenario, 3, null, choices);
        Assert.Equal(serial.Single(o => o.Seed == 3).TraceHash, replay.TraceHash);
    }

    [Fact]
    public void Swarm_command_prints_a_summary()
    {
        var run = Repo.RunSim("swarm", Repo.Scenario("fast/determinism.yaml"), "--seeds", "3", "--jobs", "2");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal("3", Repo.Field(run.Output, "passed"));
        Assert.Equal("0", Repo.Field(run.Output, "failed"));
    }

    internal static string TempScenario(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"kepler-scenario-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private static string Report(RunResult result)
    {
        using var writer = new StringWriter();
        ReportPrinter.Print(writer, result);
        return writer.ToString();
    }
}
