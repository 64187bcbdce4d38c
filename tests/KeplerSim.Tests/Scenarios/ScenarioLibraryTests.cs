using System.Globalization;
using KeplerSim.Sim.Cli;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>Every file in scenarios/ is valid, and every fast scenario passes.</summary>
[Trait("Category", "Fast")]
public sealed class ScenarioLibraryTests
{
    public static TheoryData<string> AllFiles() => new(Files(""));

    public static TheoryData<string> FastFiles() => new(Files("fast"));

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Every_scenario_file_passes_check(string relative)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(relative));
        Assert.False(string.IsNullOrWhiteSpace(scenario.Description), $"{relative} has no description");
    }

    /// <summary>
    /// What ScenarioWriter prints (a shrunk chaos case, a replay file) parses back to the same timeline. Pins a
    /// writer bug: <c>abort_after</c> was never written, so a shrunk case with an aborted upload replayed as a
    /// complete one.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Every_scenario_file_survives_writing_and_reading_back(string relative)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(relative));
        var again = ScenarioLoader.Parse(ScenarioWriter.Write(scenario), relative);
        Assert.Equal(scenario.Steps.Select(Facts), again.Steps.Select(Facts));

        static string Facts(ScenarioStep s) => string.Join(" | ", s.Describe(), s.At, s.For, s.Size, s.Content,
            s.AbortAfter, s.Durability, s.Expect, s.ExpectCount, s.Factor, string.Join(",", s.ClusterKey ?? []),
            string.Join(",", s.Nodes), s.Timeout);
    }

    [Theory]
    [MemberData(nameof(FastFiles))]
    public void Every_fast_scenario_passes(string relative)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(relative));
        Assert.True(ProtocolRegistry.Find(scenario.Cluster.Protocol) is not null,
            $"{relative} uses protocol {scenario.Cluster.Protocol}, which is not registered");
        var result = ScenarioRunner.Run(scenario, scenario.Seed);
        Assert.True(result.Passed, string.Join("\n", result.Expectations.Select(e
            => $"{e.Status} {e.Name}: {e.Detail}")));
    }

    public static TheoryData<string> FastAndRegressionFiles() =>
        new(Files("fast").Concat(Files("regressions")).Order(StringComparer.Ordinal));

    /// <summary>
    /// Every fast and regression scenario at seeds 1..N as <c>kepler-sim swarm</c> runs them (each seed's own fault
    /// randomisation), not only at the file's seed: N is <c>KEPLER_SCENARIO_SEEDS</c>, 3 by default (the 135 runs took
    /// 40.6 CPU s in a Release <c>kepler-sim swarm</c>; this Debug theory 2 m 51 s wall at a load average of 15). A
    /// swarm at seeds 4-15 found two files whose expectations held only at their own seed (node-failure read a path its
    /// workload had not written; key-rotation's put floor); three earlier swarms found protocol bugs
    /// (join-through-late-seed, stale-suspicion-of-departed-relayed, gc-repair-ping-pong).
    /// </summary>
    [Theory]
    [MemberData(nameof(FastAndRegressionFiles))]
    public void Every_fast_and_regression_scenario_passes_at_swarm_seeds(string relative)
    {
        var seeds = int.Parse(Environment.GetEnvironmentVariable("KEPLER_SCENARIO_SEEDS") ?? "3",
            CultureInfo.InvariantCulture);
        var failed = SwarmRunner.Run([Repo.Scenario(relative)], firstSeed: 1, seeds, jobs: 1)
            .Where(o => !o.Passed).Select(o => $"seed {o.Seed}: {o.Failure}\n  {o.Replay}").ToList();
        Assert.True(failed.Count == 0, $"{relative} failed at {failed.Count} of {seeds} seeds:\n" +
                                       string.Join("\n", failed));
    }

    /// <summary>
    /// Swarm seeds beyond 1..N that failed when first explored (`kepler-sim swarm FILE --first-seed SEED -n 1`), each
    /// with what broke: a file's regression is its seed failing again.
    /// </summary>
    [Theory]
    // The chunk store marked a new shard directory durable before its parent's entry was: a second write into the
    // shard was acknowledged while a crash could still lose it (thirteenth session; DurableWritePathTests).
    [InlineData("slow/join-rebalance.yaml", 7003)]
    // A surplus copy dropped under a ring that did not know of a leave yet was never restored when the ring caught up
    // (KeplerNode.RestoreCollectedOwnedChunks; thirteenth session).
    [InlineData("regressions/surplus-delete-races-verified-store.yaml", 9003)]
    // The scenario read files/1, which the workload at this seed never wrote (the file's mistake; thirteenth session).
    [InlineData("fast/corruption-scrub.yaml", 9012)]
    public void Swarm_seeds_that_once_failed_pass(string relative, int seed)
    {
        var outcome = Assert.Single(SwarmRunner.Run([Repo.Scenario(relative)], firstSeed: (ulong)seed, 1, jobs: 1));
        Assert.True(outcome.Passed, $"{relative} seed {seed}: {outcome.Failure}\n  {outcome.Replay}");
    }

    [Fact]
    public void The_library_covers_the_issue()
    {
        var all = Files("").ToList();
        Assert.True(all.Count >= 13, $"only {all.Count} scenario files");
        Assert.Contains("quickstart.yaml", all);
        Assert.Contains("fast/determinism.yaml", all);
        Assert.Contains(all, f => f.StartsWith("slow/", StringComparison.Ordinal));
    }

    private static IEnumerable<string> Files(string under)
    {
        var root = Path.Combine(Repo.Root, "scenarios");
        return Directory.EnumerateFiles(Path.Combine(root, under), "*.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
    }
}
