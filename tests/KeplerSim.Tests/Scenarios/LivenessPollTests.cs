using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>
/// The liveness phase's polls stop at their first failing check (ScenarioRun.Liveness); the report at the bound
/// must still come from every check, looked at then: a poll that skipped the checks after a failing one must not
/// leave a stale or missing verdict behind.
/// </summary>
[Trait("Category", "Fast")]
public sealed class LivenessPollTests
{
    [Fact]
    public void At_the_bound_every_check_is_looked_at_and_each_failing_one_is_reported()
    {
        // A node starts and a put begins just before the timeline ends; 50 ms is too little for the writer to hand
        // its copy of a chunk the newcomer now owns over (seed 7: no_surplus_copies still fails at the bound).
        const string text = """
            name: late-join
            duration: 3s
            cluster:
              nodes: 4
              protocol: keplerfs
              start: [n1, n2, n3]
              chunk_size: 16KiB
            steps:
              - { at: 2990ms, start: n4 }
              - { at: 2995ms, put: a, on: n1, size: 64KiB, durability: fast, expect: any }
            expect:
              converge_within: 50ms
            """;
        var result = ScenarioRunner.Run(ScenarioLoader.Parse(text, "late-join.yaml"), 7);
        var converged = Assert.Single(result.Expectations, e => e.Name == "converged within 50ms");
        Assert.Equal(ExpectationStatus.Fail, converged.Status);
        Assert.StartsWith("still failing at the bound: no_surplus_copies: ", converged.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(";", converged.Detail, StringComparison.Ordinal); // that one alone

        // The first poll stopped at no_surplus_copies, before the checks after it; at the bound every one was looked
        // at (a check never looked at has no verdict to report: the run would throw).
        var liveness = InvariantCatalog.Names.Where(n => InvariantCatalog.Get(n).Phase == InvariantPhase.Liveness)
            .ToList();
        Assert.True(liveness.Count >= 9, string.Join(", ", liveness));
        foreach (var name in liveness)
        {
            var verdict = Assert.Single(result.Expectations, e => e.Name == name);
            Assert.Equal(name == InvariantCatalog.NoSurplusCopies ? ExpectationStatus.Fail : ExpectationStatus.Pass,
                verdict.Status);
        }
    }
}
