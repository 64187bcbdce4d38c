using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// SWIM's indexes over its member map (SwimMember.Index.cs): the live count (the n of the retransmit limit and the
/// suspicion timeout) and the members at each gossip address (who sent a datagram that names no sender) are kept
/// in step with every member change instead of recounted. Here they are recounted, the obvious way, on every node
/// after every phase of a life with members that share an address (a crafted "n1z" and "n2b" announced at n2's
/// gossip address: one sorts before n2, one after), that are suspected, die, are reaped, and a member that is paused
/// and comes back. Written for the Stryker survivors of the eighth session's run of the lines changed since the
/// third session's full run (`scripts/mutation-changed.py c5ed9ee Membership`): the live count's `+=`/`-=`, the
/// id order at an address, the reindex on a status change, removal on reaping (docs/TESTING.md).
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimIndexTests
{
    private const long Second = SimHarness.Second;

    private static readonly SwimOptions Options = new() { DeadRetentionMicroseconds = 40 * Second };

    [Fact]
    public void The_live_count_and_the_address_lists_match_a_recount_through_deaths_reaping_and_shared_addresses()
    {
        using var cluster = SwimCluster.Create(4, seed: 23, Options);
        cluster.RunUntilConverged(20 * Second);
        AssertIndexes(cluster, "after the join");
        var (n1, n2, n4) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[3]);

        // Two members no node runs, announced at n2's gossip address: never acked, so suspected, then dead.
        foreach (var crafted in new[] { "n1z", "n2b" })
        {
            var alive = new AliveUpdate(crafted, 1, n2.GossipAddress.Host, n2.GossipAddress.Port,
                n2.TransferAddress.Host, n2.TransferAddress.Port, null);
            var bytes = SwimCodec.AssembleDatagram(null, [SwimCodec.EncodeUpdate(alive)]);
            cluster.Sim.Await(n1.Spawn(_ =>
            {
                cluster.Swim(n1).HandleDatagram(n2.GossipAddress, bytes);
                return Task.CompletedTask;
            }), $"n1 to learn {crafted}");
        }

        Assert.Equal(["n1z", "n2", "n2b"], cluster.Swim(n1).IndexedAt(n2.GossipAddress).Select(id => id.Value));
        AssertIndexes(cluster, "with three members at n2's address");

        // n2's acks name no sender: they count for the first live member at its address by id (n1z while it is
        // live), never for n2b, which sorts after a live member there (SwimMember.Heard.cs:48).
        cluster.Sim.RunFor(3 * Second);
        Assert.Null(cluster.Swim(n1).LastHeardMicroseconds(new NodeId("n2b")));

        cluster.RunUntil(() => cluster.Nodes.All(n => new[] { "n1z", "n2b" }.All(id =>
            cluster.Swim(n).Find(new NodeId(id))?.Status is null or MemberStatus.Dead)), 60 * Second,
            "the crafted members to be declared dead everywhere");
        AssertIndexes(cluster, "after the crafted members died");

        n4.Pause();
        cluster.RunUntil(() => cluster.StatusOf(n1, n4) == MemberStatus.Dead, 60 * Second, "n4 to be declared dead");
        AssertIndexes(cluster, "with n4 dead");
        n4.Resume();
        cluster.RunUntil(() => cluster.AllSee(n4, MemberStatus.Alive), 60 * Second, "n4 to be alive again");
        AssertIndexes(cluster, "with n4 back");

        cluster.RunUntil(() => new[] { "n1z", "n2b" }.All(id => cluster.Swim(n1).Find(new NodeId(id)) is null),
            120 * Second,
            "the dead crafted members to be reaped");
        Assert.Equal(["n2"], cluster.Swim(n1).IndexedAt(n2.GossipAddress).Select(id => id.Value));
        AssertIndexes(cluster, "after reaping");
    }

    /// <summary>Each running node's indexes against a recount of its member map.</summary>
    private static void AssertIndexes(SwimCluster cluster, string when)
    {
        foreach (var node in cluster.Running)
        {
            var swim = cluster.Swim(node);
            var members = swim.Members;
            Assert.True(members.Count(m => m.IsLive) == swim.IndexedLiveCount,
                $"{when}: {node.Name}'s live count is {swim.IndexedLiveCount}, a recount gives " +
                $"{members.Count(m => m.IsLive)}");
            foreach (var address in members.Select(m => m.GossipAddress).Distinct())
            {
                var expected = members.Where(m => m.GossipAddress == address).Select(m => m.Id.Value)
                    .Order(StringComparer.Ordinal).ToList();
                var listed = swim.IndexedAt(address).Select(id => id.Value).ToList();
                Assert.True(expected.SequenceEqual(listed),
                    $"{when}: {node.Name} lists [{string.Join(", ", listed)}] at {address}, its members there are " +
                    $"[{string.Join(", ", expected)}]");
            }
        }
    }
}
