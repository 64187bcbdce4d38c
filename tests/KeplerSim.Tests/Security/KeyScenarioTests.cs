using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Security;

/// <summary>
/// The cluster key scenarios can fail: without the key the outsider scenario's attacks succeed, and a rotation
/// that skips a phase cuts a node off. (The passing runs are in ScenarioLibraryTests: every fast scenario passes.)
/// </summary>
[Trait("Category", "Fast")]
public sealed class KeyScenarioTests
{
    [Fact]
    public void Without_a_cluster_key_the_outsider_joins_plants_and_deletes()
    {
        var text = File.ReadAllText(Repo.Scenario("fast/outsider.yaml"))
            .Replace("  protocol: keplerfs\n", "  protocol: keplerfs\n  cluster_key: false\n",
                StringComparison.Ordinal);
        var scenario = ScenarioLoader.Parse(text, "outsider-without-key.yaml");
        var result = ScenarioRunner.Run(scenario, scenario.Seed);
        var outsider = result.Expectations.Single(e => e.Name == InvariantCatalog.OutsiderChangesNothing);
        Assert.Equal(ExpectationStatus.Fail, outsider.Status);
        Assert.Contains("lists outsider1-swim as a member", outsider.Detail);
        Assert.Contains("made by outsider1", outsider.Detail);
    }

    [Fact]
    public void A_rotation_that_seals_with_the_new_key_before_every_node_holds_it_cuts_nodes_off()
    {
        var text = File.ReadAllText(Repo.Scenario("fast/key-rotation.yaml"))
            .Replace("cluster_key: [b, a]", "cluster_key: [b]", StringComparison.Ordinal);
        var scenario = ScenarioLoader.Parse(text, "rotation-skipping-a-phase.yaml");
        var result = ScenarioRunner.Run(scenario, scenario.Seed);
        Assert.False(result.Passed);
        Assert.Contains(result.Expectations, e => e.Status == ExpectationStatus.Fail
            && e.Name.Contains("events.auth.datagram.unknown_key", StringComparison.Ordinal));
        Assert.Contains(result.Expectations, e => e.Status == ExpectationStatus.Fail
            && e.Detail.Contains("DurabilityNotMet", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("fast/outsider.yaml")]
    [InlineData("fast/key-rotation.yaml")]
    public void Key_steps_are_written_back_as_they_were_read(string file)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(file));
        var written = ScenarioWriter.Write(scenario);
        Assert.Contains(file.Contains("outsider", StringComparison.Ordinal) ? "key: old" : "cluster_key: [b, a]",
            written, StringComparison.Ordinal);
        Assert.Equal(written, ScenarioWriter.Write(ScenarioLoader.Parse(written, "again.yaml")));
    }

    [Fact]
    public void A_cluster_without_a_key_is_written_back_and_cannot_rotate_one()
    {
        var off = File.ReadAllText(Repo.Scenario("fast/outsider.yaml")).Replace("  protocol: keplerfs\n",
            "  protocol: keplerfs\n  cluster_key: false\n", StringComparison.Ordinal);
        Assert.Contains("cluster_key: false", ScenarioWriter.Write(ScenarioLoader.Parse(off, "off.yaml")),
            StringComparison.Ordinal);
        var error = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse("cluster:\n  protocol: keplerfs\n" +
            "  cluster_key: false\nsteps:\n  - { at: 1s, restart: n1, cluster_key: [b, a] }\n", "bad.yaml"));
        Assert.Contains("the cluster runs without a key", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cluster_node_may_not_be_named_like_an_outsider()
    {
        var error = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(
            "cluster:\n  names: [a, outsider1]\n  replication_factor: 2\n  protocol: keplerfs\n" +
            "steps:\n  - { at: 1s, outsider: a }\n",
            "bad.yaml"));
        Assert.Contains("has a name outsiders use", error.Message, StringComparison.Ordinal);
    }
}
