using KeplerSim.Core.Membership;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>
/// Scenario files run KeplerFS as deployed: SWIM through seeds by default with the node's timings, a static list
/// only when asked for, no member list pushed by the harness, a stop that leaves gracefully.
/// </summary>
[Trait("Category", "Fast")]
public sealed class MembershipScenarioTests
{
    [Fact]
    public void Keplerfs_defaults_to_swim_with_the_nodes_default_timings_and_three_seeds()
    {
        var scenario = ScenarioLoader.Parse("cluster:\n  nodes: 5\n  protocol: keplerfs\n  start: [n2, n3, n4, n5]\n",
            "a.yaml");
        Assert.Equal(MembershipMode.Swim, scenario.Cluster.Membership);

        // SwimOptions' defaults are what NodeHost.SwimOptionsOf yields for the default SWIM_PROBE_INTERVAL_MS
        // (1000 ms: probe timeout min(500 ms, interval / 2), join retry min(1 s, interval)).
        Assert.Equal(new SwimOptions(), scenario.Cluster.ToKeplerOptions().Swim);
        Assert.Equal(1_000_000, scenario.Cluster.ToKeplerOptions().Swim!.ProbeIntervalMicroseconds);
        Assert.Equal(["n2", "n3", "n4"], scenario.Cluster.SeedNodes());
    }

    [Fact]
    public void Static_membership_turns_swim_off_and_a_probe_interval_scales_as_the_nodes_setting_does()
    {
        var fixedCluster = ScenarioLoader.Parse("cluster:\n  protocol: keplerfs\n  membership: static\n", "a.yaml");
        Assert.Null(fixedCluster.Cluster.ToKeplerOptions().Swim);

        // As NodeHost.SwimOptionsOf with SWIM_PROBE_INTERVAL_MS=200: probe timeout min(500 ms, 100 ms), join
        // retry min(1 s, 200 ms).
        var scaled = ScenarioLoader.Parse("cluster:\n  protocol: keplerfs\n  seeds: [n3]\n  swim:\n" +
            "    probe_interval: 200ms\n", "a.yaml");
        Assert.Equal(new SwimOptions
        {
            ProbeIntervalMicroseconds = 200_000, ProbeTimeoutMicroseconds = 100_000,
            JoinRetryIntervalMicroseconds = 200_000,
        }, scaled.Cluster.ToKeplerOptions().Swim);
        Assert.Equal(["n3"], scaled.Cluster.SeedNodes());
    }

    [Fact]
    public void The_writer_round_trips_membership_seeds_swim_timings_and_the_new_step_forms()
    {
        const string text = """
            name: membership
            duration: 20s
            cluster:
              nodes: 4
              protocol: keplerfs
              seeds: [n2]
              swim:
                probe_interval: 500ms
            steps:
              - { at: 1s, put: a, on: n1, size: 1KiB, durability: all, expect: durability_not_met }
              - { at: 2s, wait_until: members, on: [n1, n2], members: [n1, n2, n3, n4], timeout: 10s }
            """;
        var written = ScenarioWriter.Write(ScenarioLoader.Parse(text, "a.yaml"));
        Assert.Contains("  seeds: [n2]\n", written, StringComparison.Ordinal);
        Assert.Contains("    probe_interval: 500ms\n", written, StringComparison.Ordinal);
        Assert.Contains("expect: durability_not_met", written, StringComparison.Ordinal);
        Assert.Contains("wait_until: members, on: [n1, n2], members: [n1, n2, n3, n4]", written,
            StringComparison.Ordinal);
        Assert.DoesNotContain("membership:", written, StringComparison.Ordinal); // swim is the default
        Assert.Equal(written, ScenarioWriter.Write(ScenarioLoader.Parse(written, "b.yaml")));

        var fixedCluster = ScenarioLoader.Parse("cluster:\n  protocol: keplerfs\n  membership: static\n", "a.yaml");
        fixedCluster.Cluster.Keplerfs.Swim = true; // the removed key is never written back
        var again = ScenarioWriter.Write(fixedCluster);
        Assert.Contains("  membership: static\n", again, StringComparison.Ordinal);
        Assert.DoesNotContain("swim", again, StringComparison.Ordinal);
    }

    /// <summary>
    /// A late node joins through its seeds and a stopped node leaves gracefully: every ring follows by SWIM alone
    /// (the harness pushes nothing), and the leaver is marked left by its peers, never dead.
    /// </summary>
    [Fact]
    public void A_late_start_joins_through_seeds_and_a_stop_leaves_without_being_declared_dead()
    {
        const string text = """
            name: join-and-leave
            duration: 12s
            cluster:
              nodes: 4
              protocol: keplerfs
              start: [n1, n2, n3]
              chunk_size: 16KiB
            steps:
              - { at: 2s, start: n4 }
              - { at: 2s, wait_until: members, on: all, members: all, timeout: 5s }
              - { at: 6s, stop: n2 }
              - { at: 6s, wait_until: members, on: [n1, n3, n4], members: [n1, n3, n4], timeout: 5s }
            expect:
              converge_within: 20s
              metrics:
                events.member.left: ">= 3"
                events.member.dead: "== 0"
            """;
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(text, "join-and-leave.yaml"), 3);
        Assert.True(result.Passed, string.Join("\n", result.Expectations.Where(e => e.Status ==
            ExpectationStatus.Fail).Select(e => $"{e.Name}: {e.Detail}")));
        Assert.Contains(result.Expectations, e => e.Name.Contains("wait_until members of n1,n3,n4",
            StringComparison.Ordinal) && e.Status == ExpectationStatus.Pass);
    }

    /// <summary>The report's failure detections: the kernel's crash time against the first peer's SWIM
    /// verdict.</summary>
    [Fact]
    public void The_report_shows_a_crash_detected_by_swim_with_its_latency_and_the_copies_per_chunk()
    {
        const string text = """
            name: detection
            duration: 25s
            cluster:
              nodes: 3
              protocol: keplerfs
              chunk_size: 16KiB
            steps:
              - { at: 1s, put: a, on: n1, size: 40KiB, durability: all }
              - { at: 2s, crash: n3, restart_after: 20s }
            """;
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(text, "detection.yaml"), 5);
        var line = Assert.Single(result.Detections);
        Assert.StartsWith("n3 crashed at 2s: declared dead by n", line, StringComparison.Ordinal);
        Assert.Equal(1, result.Metrics["detect.crash.detected"]);

        // Detection needs a failed probe and a suspicion timeout: seconds, never instantly, never the whole outage.
        Assert.InRange(result.Metrics["detect.crash.latency_max_seconds"], 1.0, 20.0);
        Assert.False(result.Metrics.ContainsKey("detect.unexplained"), "a death declared while running and reachable");
        Assert.Contains(result.Storage, l => l.StartsWith(
            "copies per chunk: 3 chunk(s) referenced on 3 live node(s): 3 with 3", StringComparison.Ordinal));
    }
}
