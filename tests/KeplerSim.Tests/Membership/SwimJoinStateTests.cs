using KeplerSim.Core;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// Two pieces of SWIM state other layers build on. <see cref="SwimMember.HasJoined"/> is what the durability contract
/// waits for (a node that joins through seeds refuses all/quorum until it is true): true after the first join and
/// still true after the node found itself alone and joined again. <see cref="SwimMember.AdoptSettings"/> is how
/// settings that rode on a chunk transfer are adopted: null refused, unvalidated settings an invariant violation,
/// valid newer ones taken. Written for the Stryker survivors of the lines changed since the third session's full
/// run (`scripts/mutation-changed.py c5ed9ee Membership`): Join.cs:63 (`|=` as `&amp;=` or `^=`) and Settings.cs:50-52.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimJoinStateTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void A_node_whose_seed_starts_later_joins_as_soon_as_the_seed_introduces_itself()
    {
        // n2 starts first; its seed n1 is down, so n2's join requests (one per JoinRetryInterval, 1 s) go nowhere.
        // n1, whose seed is n2, starts just after one of them and introduces itself: n2 takes that request as good
        // as a reply and syncs at once (scenarios/regressions/join-through-late-seed.yaml). Kills in
        // SwimMember.Join.cs: OnJoinRequest's ApplyAlive removed (49: the sender unknown, so not found among the
        // seeds) and its SyncWithSeed removed (53): n2 joined only at its next join round, about a second later.
        var options = new SwimOptions();
        using var sim = new Simulation(new SimulationOptions { Seed = 44 });
        var n1 = sim.AddNode("n1", runtime => new SwimProgram(runtime, options,
            [new NetAddress("n2", SimNode.GossipPort)], (_, _) => { }, []));
        var n2 = sim.AddNode("n2", runtime => new SwimProgram(runtime, options,
            [new NetAddress("n1", SimNode.GossipPort)], (_, _) => { }, []));
        var requests = new List<long>();
        sim.Network.Tap = (from, _, payload) =>
        {
            if (from == n2 && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimJoinRequest })
            {
                requests.Add(sim.Now);
            }
        };
        n2.Start();
        sim.RunFor(Second + (Second / 2));
        Assert.True(requests.Count >= 2, "n2 asked its absent seed every join round");
        var before = requests.Count;
        Assert.True(sim.RunUntil(() => requests.Count > before, 2 * Second), "n2's next join round");
        sim.RunFor(Second / 100);
        var swim = ((SwimProgram)n2.Program!).Swim;
        Assert.False(swim.IsJoined);

        n1.Start();
        var started = sim.Now;
        Assert.True(sim.RunUntil(() => swim.IsJoined, 2 * Second), "n2 to join");
        Assert.InRange(sim.Now - started, 0, Second / 5);
    }

    [Fact]
    public void A_node_that_joined_has_joined_still_after_it_was_alone_and_joined_again()
    {
        using var cluster = SwimCluster.Create(3, seed: 31);
        cluster.RunUntilConverged(20 * Second);
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        Assert.All(cluster.Nodes, n => Assert.True(cluster.Swim(n).HasJoined, $"{n.Name} has joined"));

        // Cut off, n3 declares both peers dead and, alone, tries its seed again (IsJoined false, HasJoined not).
        cluster.Sim.Network.Partition([n3], [n1, n2]);
        cluster.RunUntil(() => !cluster.Swim(n3).IsJoined, 120 * Second, "n3 to find itself alone");
        Assert.True(cluster.Swim(n3).HasJoined, "n3 has joined once: alone, it still counts as joined");

        cluster.Sim.Network.Heal();
        cluster.RunUntil(() => cluster.Swim(n3).IsJoined, 60 * Second, "n3 to join again through its seed");
        Assert.True(cluster.Swim(n3).HasJoined, "n3 joined a second time");
    }

    [Fact]
    public void Settings_from_a_chunk_transfer_are_adopted_when_valid_and_newer_and_refused_otherwise()
    {
        using var cluster = SwimCluster.Create(2, seed: 32);
        cluster.RunUntilConverged(20 * Second);
        var n1 = cluster.Nodes[0];
        var swim = cluster.Swim(n1);
        void Adopt(ClusterSettings? settings) => cluster.Sim.Await(n1.Spawn(_ =>
        {
            swim.AdoptSettings(settings!);
            return Task.CompletedTask;
        }), "the adoption");

        Assert.Throws<ArgumentNullException>(() => Adopt(null));
        var invalid = Assert.Throws<InvariantViolationException>(() => Adopt(new ClusterSettings(0, 5, "n2")));
        Assert.Contains("validated before adoption", invalid.Message, StringComparison.Ordinal);
        Assert.NotEqual(0, swim.Settings?.ReplicationFactor);

        var newer = new ClusterSettings(2, (swim.Settings?.Version ?? 0) + 1, "n2");
        Adopt(newer);
        Assert.Equal(newer, swim.Settings);
    }
}
