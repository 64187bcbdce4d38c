using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Chaos;

/// <summary>
/// <c>no_false_suspicion</c> judges each suspicion against the nodes and links as they were during the probe. The
/// tracker keeps the network as a snapshot per change (it materialised every clean link at every node start,
/// n² entries each, 0.7 GB for a 400-node join); these runs pin that a snapshot still follows every change.
/// </summary>
[Trait("Category", "Fast")]
public sealed class FalseSuspicionTrackerTests
{
    // Without indirect probes a node cut off from one peer suspects it although two relays could reach it.
    private const string CutWithoutIndirectProbes = """
        name: false-suspicion
        duration: 15s
        cluster:
          nodes: 4
          protocol: keplerfs
          swim:
            indirect_checks: 0
        steps:
          - { at: 5s, partition: [[n1], [n2]] }
          - { at: 10s, heal: all }
        """;

    [Fact]
    public void A_suspicion_while_relays_had_clean_links_is_false()
    {
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(CutWithoutIndirectProbes, "cut.yaml"), 1);

        var verdict = Assert.Single(result.Expectations, e => e.Name == InvariantCatalog.NoFalseSuspicion);
        Assert.Equal(ExpectationStatus.Fail, verdict.Status);
        Assert.Contains("relay(s) [n3,n4] ran with lossless links", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_suspicion_after_the_links_turned_lossy_is_not_judged_false()
    {
        // The same cut, but every link loses datagrams from the moment of the cut: no relay had a lossless path,
        // so no suspicion may be called false. A stale snapshot of the network (loss 0) would call them false.
        var text = CutWithoutIndirectProbes.Replace("  - { at: 10s, heal: all }",
            "  - { at: 5s, network: { loss: 0.05 } }\n  - { at: 10s, heal: all }", StringComparison.Ordinal);
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(text, "cut-lossy.yaml"), 1);

        var verdict = Assert.Single(result.Expectations, e => e.Name == InvariantCatalog.NoFalseSuspicion);
        Assert.Equal(ExpectationStatus.Pass, verdict.Status);
    }
}
