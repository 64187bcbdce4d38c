using KeplerSim.Core.Node;
using KeplerSim.Core.Replication;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// The operator's integrity check (<see cref="KeplerNode.CheckIntegrityAsync"/>, <c>POST /api/integrity-check</c>)
/// in the simulator: it counts exactly what it checked, found and repaired, and says so as scrub does (a
/// <see cref="ScrubFound"/> per bad copy). Written for the Stryker survivors of Replication/Scrubber.cs's shared
/// check (an intact chunk reported repaired, the event removed); the real-process IntegrityTests are outside
/// the mutation filter.
/// </summary>
[Trait("Category", "Fast")]
public sealed class IntegrityCheckTests
{
    [Fact]
    public void The_check_reports_exactly_the_corrupt_copies_and_replaces_them()
    {
        var options = new KeplerOptions { ChunkSizeBytes = KeplerCluster.ChunkSize, ScrubPassMicroseconds = 0 };
        using var cluster = KeplerCluster.Create(3, seed: 71, options);
        var data = KeplerCluster.Bytes(6 * KeplerCluster.ChunkSize, 7);
        cluster.Put(0, "i", data, Durability.All);
        var node = cluster.Nodes[1];
        var found = new List<ScrubFound>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is ScrubFound f)
            {
                found.Add(f);
            }
        });

        var clean = Check(cluster, node);
        Assert.Equal(new IntegrityReport(6, 0, 0, 0, 0), clean);
        Assert.Empty(found);

        var victims = cluster.ChunksOf(0, "i").Take(2).ToList();
        Assert.All(victims, id => Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(id))));
        var report = Check(cluster, node);
        Assert.Equal(new IntegrityReport(6, 2, 0, 2, 0), report);
        Assert.Equal(victims.Order(StringComparer.Ordinal), found.Select(f => f.ChunkId).Order(StringComparer.Ordinal));
        Assert.All(found, f => Assert.True(f.Repaired));
        Assert.Equal(new IntegrityReport(6, 0, 0, 0, 0), Check(cluster, node));
        Assert.Equal(data, cluster.Get(1, "i"));
    }

    private static readonly KeplerOptions Paired = new()
    {
        ChunkSizeBytes = KeplerCluster.ChunkSize,
        ReplicationFactor = 2,
        ScrubPassMicroseconds = 0,
        TransferTimeoutMicroseconds = SimHarness.Second,
        RepairScanIntervalMicroseconds = 3_600 * SimHarness.Second,
        AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
    };

    /// <summary>
    /// A corrupt copy whose only other holder is unreachable (paused) is deleted, reported found but not repaired,
    /// and remembered as lost: once the peer answers again the lost-chunk restore brings it back, long before any
    /// repair scan (an hour here). Kills, in KeplerNode.Read.cs ReplaceCorruptLocalCopyAsync, the final
    /// <c>return false</c> as <c>true</c> (a deleted copy reported repaired) and <c>RestoreLater(id)</c> removed (the
    /// copy stayed lost: scenarios/regressions/crash-during-scrub-repair.yaml is the crash that needs it first).
    /// </summary>
    [Fact]
    public void A_corrupt_copy_no_peer_can_restore_now_is_reported_unrepaired_and_restored_once_one_answers()
    {
        using var cluster = KeplerCluster.Create(2, seed: 72, Paired, membership: MembershipMode.Static);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        var data = KeplerCluster.Bytes(KeplerCluster.ChunkSize, 8);
        cluster.Put(0, "lost", data, Durability.All);
        var chunk = cluster.ChunksOf(0, "lost").Single();
        var found = Found(n1);
        n2.Pause();
        Assert.True(n1.Disk.Corrupt(ChunkStore.PathOf(chunk)));

        Assert.Equal(new IntegrityReport(1, 1, 0, 0, 0), Check(cluster, n1));
        Assert.False(Assert.Single(found).Repaired);
        Assert.Equal([n2.Name], cluster.Holders(chunk)); // Its bytes can never be served: the file is gone.

        n2.Resume();
        Assert.True(cluster.Sim.RunUntil(() => cluster.DurableCopies(chunk).Contains(n1.Name), 60 * SimHarness.Second),
            "n1 to restore the chunk it lost once n2 answers again");
        Assert.Equal(data, cluster.Get(0, "lost"));
    }

    /// <summary>
    /// While the restore of a corrupt copy waits on an unreachable peer, a client write on this node stores the same
    /// bytes: the restore fails, but a verified copy is recorded here now, so it stays and the check reports the copy
    /// repaired. Kills, in ReplaceCorruptLocalCopyAsync, <c>return true</c> after <c>Meta.GetChunk(id) is not null</c>
    /// as <c>false</c> (the copy reported lost, and the replication worker then dropped that delivery's queue entry
    /// although a copy is here).
    /// </summary>
    [Fact]
    public void A_copy_a_write_stores_while_the_restore_waits_is_kept_and_reported_repaired()
    {
        using var cluster = KeplerCluster.Create(2, seed: 73, Paired, membership: MembershipMode.Static);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        var data = KeplerCluster.Bytes(KeplerCluster.ChunkSize, 9);
        cluster.Put(0, "first", data, Durability.All);
        var chunk = cluster.ChunksOf(0, "first").Single();
        var kepler = cluster.Kepler(n1);
        n2.Pause();
        Assert.True(n1.Disk.Corrupt(ChunkStore.PathOf(chunk)));

        var check = n1.Spawn(_ => kepler.CheckIntegrityAsync());
        Assert.True(cluster.Sim.RunUntil(() => kepler.Meta.GetChunk(chunk) is null, SimHarness.Second),
            "the check to find the corrupt copy and forget it");
        var put = cluster.PutAsync(0, "again", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, SimHarness.Second / 2), "the write to end");
        Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        Assert.False(check.IsCompleted, "the write must land while the restore still waits on n2");

        Assert.Equal(new IntegrityReport(1, 1, 0, 1, 0), cluster.Sim.Await(check, "the integrity check"));
        Assert.NotNull(kepler.Meta.GetChunk(chunk));
        Assert.Contains(n1.Name, cluster.DurableCopies(chunk));
        n2.Resume();
        Assert.Equal(data, cluster.Get(0, "again"));
    }

    /// <summary>
    /// Regression (found when no_garbage_churn was tightened to a chunk's second collection: swarm seed 3 of
    /// scenarios/regressions/gc-churn-after-failed-put.yaml): scrub listed a chunk, the garbage collector deleted its
    /// row and then its file, and scrub's read found the file missing. It "repaired" the copy from a peer, bringing
    /// the collected garbage back with a fresh grace (a chunk.read_repaired right after the chunk.collected), and the
    /// collector took it a second time 4 s later. Here the check runs right after the collector's deletion, as
    /// scrub's read did: nothing is restored, and there is no verdict (the chunk is no longer this node's).
    /// </summary>
    [Fact]
    public void Scrub_does_not_restore_a_copy_the_collector_deleted_while_it_was_read()
    {
        using var cluster = KeplerCluster.Create(2, seed: 74, Paired, membership: MembershipMode.Static);
        var n1 = cluster.Nodes[0];
        cluster.Put(0, "g", KeplerCluster.Bytes(KeplerCluster.ChunkSize, 10), Durability.All);
        var chunk = cluster.ChunksOf(0, "g").Single();
        var kepler = cluster.Kepler(n1);
        var found = Found(n1);
        Assert.True(cluster.Sim.Await(n1.Spawn(_ => kepler.DeleteUnneededAsync(chunk)), "the collector's deletion"));

        var outcome = cluster.Sim.Await(n1.Spawn(_ => Scrubber.CheckAsync(kepler, n1.Runtime!.Events, chunk)),
            "scrub's check");
        Assert.Null(outcome);
        Assert.Empty(found);
        Assert.Null(kepler.Meta.GetChunk(chunk));
        Assert.DoesNotContain(n1.Name, cluster.Holders(chunk));
    }

    private static List<ScrubFound> Found(KeplerSim.Sim.Kernel.SimNode node)
    {
        var found = new List<ScrubFound>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is ScrubFound f)
            {
                found.Add(f);
            }
        });
        return found;
    }

    private static IntegrityReport Check(KeplerCluster cluster, KeplerSim.Sim.Kernel.SimNode node) =>
        cluster.Sim.Await(node.Spawn(_ => cluster.Kepler(node).CheckIntegrityAsync()), "the integrity check");
}
