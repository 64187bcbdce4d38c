using KeplerSim.Core.Membership;
using KeplerSim.Tests.Sim;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Membership;

[Trait("Category", "Fast")]
public sealed class SwimRefutationTests(ITestOutputHelper output)
{
    private const long Second = SimHarness.Second;

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void A_paused_node_that_resumes_before_the_timeout_refutes_and_stays_alive(ulong seed)
    {
        using var cluster = SwimCluster.Create(5, seed);
        cluster.RunUntilConverged(10 * Second);
        cluster.Sim.RunFor(2 * Second);
        var paused = cluster.Nodes[2];
        var pausedAt = cluster.Sim.Now;
        paused.Pause();

        // Long enough for a failed probe to raise a suspicion, shorter than the 4 s minimum suspicion timeout.
        cluster.RunUntil(() => cluster.Seen(paused, MemberStatus.Suspect, pausedAt).Any(), 5 * Second,
            $"someone to suspect the paused {paused.Name}");
        cluster.Sim.RunFor(Second);
        paused.Resume();
        cluster.RunUntil(() => cluster.AllSee(paused, MemberStatus.Alive) && cluster.Converged(), 10 * Second,
            $"{paused.Name} to refute");

        Assert.Empty(cluster.Seen(paused, MemberStatus.Dead));
        Assert.True(cluster.Swim(paused).Counters.Refutations >= 1, "the paused node refuted");
        Assert.All(cluster.Running, n => Assert.True(cluster.Swim(n).Find(paused.Id)!.Incarnation >= 1,
            $"{n.Name} knows the refuted incarnation"));
        output.WriteLine($"seed {seed}: suspected, refuted at incarnation {cluster.Swim(paused).Self.Incarnation}");
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    public void A_node_paused_too_long_is_declared_dead_then_rejoins_with_a_higher_incarnation(ulong seed)
    {
        using var cluster = SwimCluster.Create(5, seed);
        cluster.RunUntilConverged(10 * Second);
        var paused = cluster.Nodes[3];
        paused.Pause();
        cluster.RunUntil(() => cluster.AllSee(paused, MemberStatus.Dead), 30 * Second,
            $"every other node to declare the paused {paused.Name} dead");
        var deadIncarnation = cluster.Swim(0).Find(paused.Id)!.Incarnation;
        cluster.Sim.RunFor(5 * Second);

        var resumedAt = cluster.Sim.Now;
        paused.Resume();
        cluster.RunUntil(cluster.Converged, 20 * Second, $"the resumed {paused.Name} to rejoin");
        output.WriteLine($"seed {seed}: rejoined {(cluster.Sim.Now - resumedAt) / 1000} ms after resuming");

        Assert.All(cluster.Running, n => Assert.True(cluster.Swim(n).Find(paused.Id)!.Incarnation > deadIncarnation,
            $"{n.Name} sees the rejoined node above its dead incarnation"));
    }

    [Fact]
    public void A_crashed_and_restarted_node_rejoins_with_a_higher_incarnation()
    {
        using var cluster = SwimCluster.Create(5, seed: 7);
        cluster.RunUntilConverged(10 * Second);
        var victim = cluster.Nodes[4];
        victim.Crash();
        cluster.RunUntil(() => cluster.AllSee(victim, MemberStatus.Dead), 30 * Second, "the crash to be detected");

        // The restarted process remembers nothing: incarnation 0, and joins through the seed.
        victim.Start();
        Assert.Equal(0, cluster.Swim(victim).Self.Incarnation);
        cluster.RunUntil(cluster.Converged, 10 * Second, $"the restarted {victim.Name} to rejoin");
        Assert.True(cluster.Swim(victim).Self.Incarnation >= 1, "the restarted node refuted its death");
        Assert.All(cluster.Running, n => Assert.Equal(MemberStatus.Alive, cluster.StatusOf(n, victim)));
    }

    [Fact]
    public void A_restarted_seed_is_found_again_by_reconnection()
    {
        using var cluster = SwimCluster.Create(5, seed: 8);
        cluster.RunUntilConverged(10 * Second);
        var seedNode = cluster.Nodes[0];
        seedNode.Crash();
        cluster.RunUntil(() => cluster.AllSee(seedNode, MemberStatus.Dead), 30 * Second, "the seed's death");

        // Restarted, the seed has nobody to join; the others retry dead members during push-pull rounds.
        seedNode.Start();
        cluster.RunUntil(cluster.Converged, 120 * Second, "the others to reconnect to the restarted seed");
        Assert.True(cluster.Swim(seedNode).Self.Incarnation >= 1, "the seed refuted its death");
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    public void A_graceful_leave_is_seen_as_left_not_dead_by_all(ulong seed)
    {
        using var cluster = SwimCluster.Create(5, seed);
        cluster.RunUntilConverged(10 * Second);
        var leaver = cluster.Nodes[2];
        cluster.Sim.Await(leaver.Spawn(_ => cluster.Swim(leaver).LeaveAsync()), $"{leaver.Name} to leave");
        Assert.True(cluster.Swim(leaver).IsStopped, "the leaver stopped");

        cluster.RunUntil(() => cluster.Running.Where(n => n != leaver)
            .All(n => cluster.StatusOf(n, leaver) == MemberStatus.Left), 5 * Second, "every node to see the leave");
        cluster.Sim.RunFor(60 * Second);
        Assert.All(cluster.Running.Where(n => n != leaver),
            n => Assert.Equal(MemberStatus.Left, cluster.StatusOf(n, leaver)));
        Assert.Empty(cluster.Seen(leaver, MemberStatus.Dead));
        Assert.Empty(cluster.Seen(leaver, MemberStatus.Suspect));
    }
}
