using KeplerSim.Core.Node;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tests.Chaos;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class ChaosRegressionTests
{
    private const int C = KeplerCluster.ChunkSize;

    /// <summary>
    /// The former bench chaos command, now scenarios/slow/chaos-swim-buggify.yaml, at the seed that first found the
    /// bug pinned below. The scenario harness and workload differ from the bench's, so this seed no longer reaches
    /// that bug (checked: with it planted, seeds 1..24 all pass); the targeted test below pins it.
    /// </summary>
    [Fact]
    public void Chaos_seed_11_converges_and_breaks_no_invariant()
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario("slow/chaos-swim-buggify.yaml"));
        var result = ScenarioRunner.Run(scenario, 11);
        Assert.True(result.Passed, ChaosRunner.Failures(result));
        Assert.True(result.Metrics.GetValueOrDefault("ops.put.ok") > 0, "the workload acknowledged nothing");
    }

    /// <summary>
    /// Regression, chaos seed 11 of the former bench chaos command: a queue entry for a chunk this node no longer
    /// held (dropped as surplus after a SWIM ring change) was retried for ever as "no local copy", so the queue
    /// never drained and the cluster never converged. The entry must go; the nodes that hold the chunk bring it to
    /// the owner that missed it.
    /// </summary>
    [Fact]
    public void A_queue_entry_for_a_chunk_this_node_no_longer_holds_is_dropped()
    {
        // Static members: the subject is the queue; a SWIM ring change would drop the entry for another reason
        // (its target no longer a member) and hide the bug.
        using var cluster = KeplerCluster.Create(4, seed: 29, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 2, RepairScanIntervalMicroseconds = 5 * SimHarness.Second,
        }, membership: MembershipMode.Static);
        var n1 = cluster.Nodes[0];
        var kepler = cluster.Kepler(n1);
        // Content n1 does not own: its copy is a hinted one, which nothing restores once it is gone.
        var (data, id) = Enumerable.Range(0, 100).Select(i => KeplerCluster.Bytes(C, 500 + i))
            .Select(d => (d, Core.Storage.ChunkStore.IdOf(d))).First(p => !kepler.Ring.IsOwner(kepler.Id, p.Item2));
        var owners = kepler.Ring.OwnersOf(id).Select(o => cluster.Sim.FindNode(o.Value)!).ToList();
        var cutOff = owners[1];
        cluster.Sim.Network.Partition([cutOff], cluster.Nodes.Where(n => n != cutOff).ToList());
        cluster.Put(0, "q", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => cluster.DurableCopies(id).Contains(owners[0].Name),
            10 * SimHarness.Second), "waiting for the reachable owner's copy");
        Assert.NotNull(kepler.Meta.GetQueueEntry(id, cutOff.Id));

        // n1 loses its copy (as when it is dropped as surplus) while its entry for the cut-off owner waits.
        cluster.Sim.Await(n1.Spawn(async _ =>
        {
            kepler.Meta.DeleteChunk(id);
            await kepler.Store.DeleteAsync(id);
            return true;
        }), "n1 to drop its copy");
        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => kepler.Meta.GetQueueEntry(id, cutOff.Id) is null,
            30 * SimHarness.Second), "waiting for n1 to drop its queue entry for a chunk it no longer holds");
        Assert.True(cluster.Sim.RunUntil(() => cluster.DurableCopies(id).Contains(cutOff.Name), 60 * SimHarness.Second),
            "waiting for the owner that holds the chunk to bring it to the other owner");
    }
}
