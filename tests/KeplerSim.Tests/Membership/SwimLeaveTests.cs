using KeplerSim.Core.Membership;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// How long a graceful leave waits: until its departure was gossiped its full retransmit count (bounded by
/// <see cref="SwimOptions.LeaveTimeoutMicroseconds"/>), and not at all with nobody to tell. Written to kill Stryker
/// survivors in SwimMember.Gossip.cs's LeaveAsync (docs/TESTING.md, "Mutation testing").
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimLeaveTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void A_leave_waits_for_its_own_gossip_not_for_news_of_another_member()
    {
        using var cluster = SwimCluster.Create(4, 12);
        cluster.RunUntilConverged(10 * Second);
        var leaver = cluster.Nodes[0];
        var swim = cluster.Swim(leaver);
        var other = cluster.Nodes[2];
        var sender = cluster.Nodes[1].GossipAddress;
        Task? leave = null;

        // While n1 leaves (its departure sent 3 of its 4 times at once), it learns of n3's death and, at once, of
        // n3's refutation: the death's queue entry is replaced, that is done with. Kills in SwimMember.Suspect.cs:
        // "id == Id ? LeaveGossiped : null" as always LeaveGossiped (232): any death queued during a leave ended the
        // leave's wait when it was sent out or replaced, so n1 stopped before its own departure went out in full.
        cluster.Sim.Await(leaver.Spawn(_ =>
        {
            leave = swim.LeaveAsync();
            var incarnation = swim.Find(other.Id)!.Incarnation;
            swim.HandleDatagram(sender, SwimCodec.AssembleDatagram(null,
                [SwimCodec.EncodeUpdate(new DeadUpdate(other.Name, incarnation, "n2"))]));
            swim.HandleDatagram(sender, SwimCodec.AssembleDatagram(null,
                [SwimCodec.EncodeUpdate(new AliveUpdate(other.Name, incarnation + 1, other.GossipAddress.Host,
                    other.GossipAddress.Port, other.TransferAddress.Host, other.TransferAddress.Port, null))]));
            return Task.CompletedTask;
        }), "n1 to start leaving and take the news");
        cluster.Sim.RunFor(1);
        Assert.False(swim.IsStopped, "n1 still waits for its own departure's last retransmit");
        Assert.False(leave!.IsCompleted);

        cluster.RunUntil(() => swim.IsStopped, 2 * Second, "n1's leave to finish", 1000);
        cluster.RunUntil(() => cluster.AllSee(leaver, MemberStatus.Left), 5 * Second, "every member to see n1 left");
    }

    [Fact]
    public void A_leave_waits_for_its_gossip_but_not_for_the_timeout_and_a_second_call_changes_nothing()
    {
        using var cluster = SwimCluster.Create(5, 11);
        cluster.RunUntilConverged(10 * Second);
        var leaver = cluster.Nodes[2];
        var swim = cluster.Swim(leaver);
        var startedAt = cluster.Sim.Now;
        long? firstDoneAt = null;
        long? secondDoneAt = null;
        cluster.Sim.Await(leaver.Spawn(async _ =>
        {
            async Task LeaveAsync(Action<long> done)
            {
                await swim.LeaveAsync();
                done(cluster.Sim.Now);
            }

            var first = LeaveAsync(at => firstDoneAt = at);
            var second = LeaveAsync(at => secondDoneAt = at);
            await Task.WhenAll(first, second);
        }), "both leave calls to return");

        // Kills: the wait for the gossip removed, or skipped by an inverted "already gossiped" test (the leave
        // returns at once, before its departure was retransmitted).
        var waited = firstDoneAt!.Value - startedAt;
        Assert.True(waited > 0, "the leave returned before its departure was gossiped");

        // Kills: "_stopped || _leaving" weakened to "_stopped && _leaving" (the second call starts a new wait the
        // first never sees completed, so the first waits for the whole leave timeout).
        Assert.True(waited < cluster.Options.LeaveTimeoutMicroseconds,
            $"the leave waited {waited} us: its gossip should have completed well before the timeout");
        Assert.Equal(startedAt, secondDoneAt);
        Assert.True(swim.IsStopped);
        cluster.RunUntil(() => cluster.AllSee(leaver, MemberStatus.Left), 5 * Second, "every node to see the leave");
    }

    [Fact]
    public void A_lone_member_leaves_at_once()
    {
        using var cluster = SwimCluster.Create(1, 12);
        cluster.Sim.RunFor(2 * Second);
        var node = cluster.Nodes[0];
        var startedAt = cluster.Sim.Now;
        long? doneAt = null;
        cluster.Sim.Await(node.Spawn(async _ =>
        {
            await cluster.Swim(node).LeaveAsync();
            doneAt = cluster.Sim.Now;
        }), "the lone leave to return");

        // Kills: "RandomMembers(...).Count > 0" as ">= 0", and "&&" as "||" in the wait's condition: with nobody to
        // gossip to, the leave would wait for the whole leave timeout.
        Assert.Equal(startedAt, doneAt);
        Assert.True(cluster.Swim(node).IsStopped);
    }
}
