namespace KeplerSim.Tests.Sim;

/// <summary>
/// Non-negotiable 1: the same scenario and seed give the same trace hash in two separate processes. This test
/// stays in the suite forever; the scenario it runs switches on every fault kind.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DeterminismTests
{
    private static readonly string File = Repo.Scenario("fast/determinism.yaml");

    [Fact]
    public void Same_seed_gives_the_same_trace_hash_in_two_processes()
    {
        var first = Repo.RunSim("run", File, "--seed", "1234");
        var second = Repo.RunSim("run", File, "--seed", "1234");
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal(Repo.Field(first.Output, "events"), Repo.Field(second.Output, "events"));
        Assert.Equal(Repo.Field(first.Output, "trace hash"), Repo.Field(second.Output, "trace hash"));

        // The run really exercised every fault kind the injector has.
        var faults = Repo.Field(first.Output, "faults");
        foreach (var kind in new[] { "crash", "pause", "partition", "clock-jump", "corruption" })
        {
            Assert.Contains(kind, faults, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Different_seeds_give_different_trace_hashes()
    {
        var hashes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var seed in new[] { "1", "2", "3" })
        {
            var run = Repo.RunSim("run", File, "--seed", seed);
            Assert.True(run.ExitCode == 0, run.Output);
            hashes.Add(Repo.Field(run.Output, "trace hash"));
        }

        Assert.Equal(3, hashes.Count);
    }

    /// <summary>
    /// The real protocol under every fault kind: scenarios/slow/chaos-swim-buggify.yaml (the former bench chaos
    /// command), a 5-node KeplerFS cluster with SWIM membership (churn from crashes, pauses and partitions drives
    /// re-replication) and a put/get/delete workload, crashes, pauses, partitions, clock jumps, corruption, lossy
    /// links and buggify, then healing and the scenario checkers. Two processes, one seed, one hash; and the run
    /// must pass its checkers.
    /// </summary>
    [Fact]
    public void A_KeplerFS_chaos_run_gives_the_same_trace_hash_in_two_processes()
    {
        var file = Repo.Scenario("slow/chaos-swim-buggify.yaml");
        var first = Repo.RunSim("run", file, "--seed", "3");
        var second = Repo.RunSim("run", file, "--seed", "3");
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal(Repo.Field(first.Output, "events"), Repo.Field(second.Output, "events"));
        Assert.Equal(Repo.Field(first.Output, "trace hash"), Repo.Field(second.Output, "trace hash"));
    }
}
