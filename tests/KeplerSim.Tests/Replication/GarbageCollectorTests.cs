using System.Reactive.Disposables;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;
using KeplerSim.Tests.Transfer;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// Garbage collection counts what it did: each node's collected counter is exactly the copies it deleted, the
/// rows go with the files, and later runs find nothing more. Written for the open Stryker survivor of
/// Replication/GarbageCollector.cs (docs/TESTING.md "Replication survivors"): the node tests only asked for "at
/// least" that many, which a row left behind (collected again and again) or a miscount satisfied.
/// </summary>
[Trait("Category", "Fast")]
public sealed class GarbageCollectorTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const long Second = SimHarness.Second;

    /// <summary>Small chunks, a fast write timeout and anti-entropy, and a gc that runs every 2 s after 20 s.</summary>
    private static readonly KeplerOptions Collecting = new()
    {
        ChunkSizeBytes = C,
        WriteTimeoutMicroseconds = 5 * Second,
        AntiEntropyIntervalMicroseconds = Second,
        GcGraceMicroseconds = 20 * Second,
        GcIntervalMicroseconds = 2 * Second,
    };

    [Fact]
    public void Each_node_counts_exactly_the_copies_it_collected_and_keeps_no_row_for_them()
    {
        // Kills in GarbageCollector.cs: "Collected++" removed or as "--", the ChunkCollected event removed; in
        // KeplerNode.Orphans.cs (where the collector's row deletion moved): "Meta.DeleteChunk(id)" removed (the
        // file went, the row stayed).
        var options = Collecting;
        using var cluster = KeplerCluster.Create(3, seed: 98, options);
        var collected = cluster.Nodes.ToDictionary(n => n.Name, _ => new List<string>());
        using var subscriptions = new CompositeDisposable(cluster.Nodes.Select(n => n.Runtime!.Events.Stream
            .Subscribe(e =>
            {
                if (e is ChunkCollected chunk)
                {
                    collected[n.Name].Add(chunk.ChunkId);
                }
            })));
        cluster.Put(0, "g", KeplerCluster.Bytes(4 * C, 1), Durability.All);
        var old = cluster.ChunksOf(0, "g").ToList();
        cluster.Put(1, "g", KeplerCluster.Bytes(4 * C, 2), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => old.All(id => cluster.Holders(id).Count == 0), 120 * Second),
            "the superseded version's chunks to be collected");

        cluster.Sim.RunFor(5 * options.GcIntervalMicroseconds); // Later runs find nothing more to collect.
        foreach (var node in cluster.Nodes)
        {
            var kepler = cluster.Kepler(node);
            Assert.Equal(old.Count, kepler.ChunksCollected);
            Assert.All(old, id => Assert.Null(kepler.Meta.GetChunk(id)));
            // And each deletion is in the node's event trace (GarbageCollector.cs:78, its publication removed).
            Assert.Equal(old.Order(StringComparer.Ordinal), collected[node.Name].Order(StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// Regression (chaos CsCheck_Seed=3__cy2ZZ1Os1:
    /// scenarios/regressions/gc-collects-before-partitioned-manifest.yaml): a node collected a chunk whose manifest
    /// a partition held back, and when the manifest came nothing sent the copy again before the repair scan. A node now restores, when a live manifest arrives, the owned chunks it
    /// collected itself, and only those: a chunk it lacks for another reason is left to the paths that own that
    /// case (the writer's queue, anti-entropy's offers, the repair scan), so a quorum write's manifest arriving
    /// before its chunk does not start a second transfer of it.
    /// </summary>
    [Fact]
    public void A_live_manifest_brings_back_the_owned_chunks_this_node_collected_and_only_those()
    {
        using var cluster = KeplerCluster.Create(3, seed: 61, Collecting, membership: MembershipMode.Static);
        cluster.Put(0, "f", KeplerCluster.Bytes(3 * C, 8), Durability.All);
        var f = KeplerNode.FromRow(cluster.Kepler(0).Meta.GetWinner("f")!);
        var (collected, lost, history) = (f.Chunks[0].Hex, f.Chunks[1].Hex, f.Chunks[2].Hex);
        var (n2, kepler) = (cluster.Nodes[1], cluster.Kepler(1));
        foreach (var id in new[] { collected, history })
        {
            Assert.True(cluster.Sim.Await(n2.Spawn(_ => kepler.DeleteUnneededAsync(id)), "the collector's delete"));
        }

        kepler.Meta.DeleteChunk(lost); // Gone, but not by this node's collector.
        Assert.True(cluster.Sim.Await(n2.Spawn(_ => kepler.Store.DeleteAsync(lost)), "the lost file's delete"));

        // A superseded version listing a collected chunk brings nothing back: its chunks are garbage again.
        var clock = cluster.Kepler(0).Clock;
        var old = Manifest.Create(FilePath.Parse("g"), C, [f.Chunks[2]], C, clock.Now(), f.Origin);
        var newer = Manifest.Create(FilePath.Parse("g"), 2 * C, [f.Chunks[0], f.Chunks[1]], C, clock.Now(), f.Origin)
            .Superseding([old.Version]);
        Assert.True(cluster.Sim.Await(n2.Spawn(_ => Task.FromResult(kepler.ApplyManifest(newer))), "the newer"));
        Assert.False(cluster.Sim.Await(n2.Spawn(_ => Task.FromResult(kepler.ApplyManifest(old))), "the older"));

        Assert.Equal([false, true], kepler.Meta.ListFileVersions("g").Select(r => r.Superseded).Order());
        cluster.Sim.RunFor(10 * Second); // Well within the repair scan interval (60 s).
        Assert.Contains(n2.Name, cluster.Holders(collected));
        Assert.DoesNotContain(n2.Name, cluster.Holders(lost));
        Assert.DoesNotContain(n2.Name, cluster.Holders(history));
    }

    /// <summary>
    /// Review S1 (thirteenth session): a live manifest recorded while this node's delete of one of its chunks is still
    /// under way (the row gone, the file not yet) found the chunk neither held nor remembered as collected, and
    /// nothing brought it back before the repair scan.
    /// </summary>
    [Fact]
    public void A_live_manifest_arriving_while_its_chunk_is_being_collected_brings_it_back()
    {
        using var cluster = KeplerCluster.Create(3, seed: 62, Collecting, membership: MembershipMode.Static);
        cluster.Put(0, "f", KeplerCluster.Bytes(C, 11), Durability.All);
        var f = KeplerNode.FromRow(cluster.Kepler(0).Meta.GetWinner("f")!);
        var (n2, kepler) = (cluster.Nodes[1], cluster.Kepler(1));
        var id = f.Chunks[0].Hex;
        var g = Manifest.Create(FilePath.Parse("g"), C, [f.Chunks[0]], C, cluster.Kepler(0).Clock.Now(), f.Origin);
        Task<bool>? deleting = null;
        var applied = n2.Spawn(_ =>
        {
            deleting = kepler.DeleteUnneededAsync(id); // Its row goes at once, its file after the disk's latency.
            return Task.FromResult(kepler.ApplyManifest(g));
        });
        Assert.True(cluster.Sim.Await(applied, "the manifest, applied during the delete"));
        Assert.False(deleting!.IsCompleted, "the delete was still under way when the manifest was recorded");
        Assert.True(cluster.Sim.Await(deleting, "the delete"));
        cluster.Sim.RunFor(10 * Second); // Well within the repair scan interval (60 s).
        Assert.Contains(n2.Name, cluster.Holders(id));
    }

    /// <summary>
    /// A ring change that makes this node an owner of a chunk it dropped as a surplus copy restores it
    /// (`kepler-sim swarm scenarios/regressions/surplus-delete-races-verified-store.yaml --first-seed 9003`: the
    /// holders had counted the copy under their newer ring before it went); one it owned all along is left to the
    /// manifest-time restore. Checked when the change is adopted, before any transfer could bring either.
    /// </summary>
    [Fact]
    public void A_ring_change_restores_the_newly_owned_chunks_this_node_dropped_and_only_those()
    {
        using var cluster = KeplerCluster.Create(3, seed: 63, Collecting with { ReplicationFactor = 2 });
        var (n3, kepler) = (cluster.Nodes[2], cluster.Kepler(2));
        var dropped = new List<string>();
        using var drops = n3.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is SurplusDropped drop)
            {
                dropped.Add(drop.ChunkId);
            }
        });
        cluster.Put(2, "f", KeplerCluster.Bytes(8 * C, 12), Durability.All);
        var chunks = cluster.ChunksOf(2, "f");
        var owned = chunks.First(id => kepler.OwnsChunk(id));
        Assert.True(cluster.Sim.RunUntil(() => dropped.Count > 0, 30 * Second),
            "n3, the writer, to drop a copy of a chunk it does not own as surplus");
        Assert.True(cluster.Sim.Await(n3.Spawn(_ => kepler.DeleteUnneededAsync(owned)), "n3 to delete an owned copy"));

        cluster.Sim.Await(n3.Spawn(_ => kepler.SetReplicationFactorAsync(3)), "the factor raised to 3 on n3");
        var lost = (kepler.Meta.GetMeta("chunks.lost") ?? "").Split(',');
        Assert.All(dropped, id => Assert.Contains(id, lost));
        Assert.DoesNotContain(owned, lost);

        var restored = dropped.ToList();
        Assert.True(cluster.Sim.RunUntil(() => restored.All(id => cluster.Holders(id).Contains(n3.Name)), 10 * Second),
            "n3 to hold the chunks it owns now");
    }

    [Fact]
    public void Garbage_is_collected_while_deliveries_of_other_chunks_are_in_flight()
    {
        // Kills in ReplicationWorker.cs IsInFlight (what the collector asks through IsMoving; no test reached it):
        // "f.ChunkId == chunkId" as "!=" (any other delivery in flight held off every collection). n3 is cut off,
        // so n1 always has deliveries to it in flight (4 slots, 8 entries failing after a 1 s connect timeout and
        // retried 0.1-0.2 s later); the superseded chunks, delivered everywhere before the cut, must still go.
        var options = Collecting with { RetryBaseMicroseconds = 100_000, RetryMaxMicroseconds = 200_000 };
        // Static members: n3 stays an owner (and a target) while cut off.
        using var cluster = KeplerCluster.Create(3, seed: 99, options, membership: MembershipMode.Static);
        var n1 = cluster.Nodes[0];
        cluster.Put(0, "g", KeplerCluster.Bytes(4 * C, 3), Durability.All);
        var old = cluster.ChunksOf(0, "g").ToList();
        cluster.Sim.Network.Partition([n1], [cluster.Nodes[2]]);
        cluster.Put(0, "busy", KeplerCluster.Bytes(8 * C, 4), Durability.Fast);
        cluster.Put(0, "g", KeplerCluster.Bytes(4 * C, 5), Durability.Fast);

        Assert.True(cluster.Sim.RunUntil(() => old.All(id => !cluster.Holders(id).Contains(n1.Name)), 60 * Second),
            "n1 to collect the superseded chunks while its deliveries to n3 keep failing");
        Assert.True(cluster.Kepler(0).QueueDepth >= 8, "deliveries to n3 were still pending");
    }

    [Fact]
    public void Garbage_is_collected_while_peers_repair_scans_keep_confirming_its_copies()
    {
        // Regression (found triaging GarbageCollector.cs's survivors): a peer's repair scan offers every copy it
        // holds, garbage included, and the owner's answer "held" counted as a use of its copy (gc grace restarted
        // on the monotonic clock). With scans more often than the grace (the defaults: a minute and an hour) two
        // owners kept each other's garbage forever. Only a write's claim or a copy just received is a use now
        // (KeplerNode.Orphans.cs, ChunkClaimed).
        var options = Collecting with { ReplicationFactor = 2, RepairScanIntervalMicroseconds = 5 * Second };
        using var cluster = KeplerCluster.Create(2, seed: 46, options, membership: MembershipMode.Static);
        cluster.Put(0, "g", KeplerCluster.Bytes(4 * C, 6), Durability.All);
        var old = cluster.ChunksOf(0, "g").ToList();
        cluster.Put(1, "g", KeplerCluster.Bytes(4 * C, 7), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => old.All(id => cluster.Holders(id).Count == 0), 60 * Second),
            $"the superseded chunks to be collected: copies {string.Join(", ", old.Select(id => cluster.Holders(id).Count))}");
    }

    [Fact]
    public void A_repair_queued_while_the_chunk_was_kept_is_dropped_not_delivered_once_the_chunk_is_garbage()
    {
        // Regression (chaos fixed case 43, CsCheck_Seed=a0EpWlaM9Qn7): the repair scan refuses to queue garbage, but
        // an entry it queued while a version kept the chunk was delivered after none did. n1 restarts while n3 is
        // down: its start scan queues the chunks of g to n3, and the failed attempt backs off 30-60 s. n2
        // overwrites g, n3 comes back, learns the new version and collects its copies of the old one a grace
        // later. Then n1's retry delivered them to n3, which took them as new copies with a fresh grace and
        // collected them a second time (and the queued entries kept n1's own copies from its collector until
        // then). Now n1's worker drops each entry as garbage (a chunk.dropped event) and collects its own copies;
        // nothing reaches n3 again.
        var options = Collecting with
        {
            RepairScanIntervalMicroseconds = 3_600 * Second, // Only the scan at a start.
            RetryBaseMicroseconds = 60 * Second,
            RetryMaxMicroseconds = 60 * Second,
        };
        // Static members: n3 stays an owner (and a target) while down.
        using var cluster = KeplerCluster.Create(3, seed: 49, options, membership: MembershipMode.Static);
        var (n1, n3) = (cluster.Nodes[0], cluster.Nodes[2]);
        cluster.Put(0, "g", KeplerCluster.Bytes(4 * C, 9), Durability.All);
        var old = cluster.ChunksOf(0, "g").ToList();
        n3.Crash();
        n1.Crash();
        cluster.Start(n1);
        var atN1 = SurplusCopyTests.Record(cluster, n1);
        var target = new NodeId(n3.Name);
        Assert.True(cluster.Sim.RunUntil(
                () => old.All(id => cluster.Kepler(n1).Meta.GetQueueEntry(id, target) is { Attempts: > 0 }), 10 * Second),
            "n1's start scan to queue the chunks of g to n3, and a first attempt to fail");
        cluster.Put(1, "g", KeplerCluster.Bytes(4 * C, 10), Durability.Quorum);
        var superseded = cluster.Sim.Now;
        cluster.Start(n3);
        var atN3 = SurplusCopyTests.Record(cluster, n3);
        Assert.True(cluster.Sim.RunUntil(() => old.All(id => !cluster.Holders(id).Contains(n3.Name)), 60 * Second),
            "n3 to collect its copies of the superseded version");

        cluster.Sim.RunFor(4 * (options.GcGraceMicroseconds + options.GcIntervalMicroseconds));

        Assert.All(old, id => Assert.Single(atN3, e => e.Event is ChunkCollected c && c.ChunkId == id));
        Assert.All(old, id => Assert.Empty(cluster.Holders(id)));
        Assert.DoesNotContain(atN1, e => e.At > superseded
            && e.Event is ChunkReplicated r && old.Contains(r.ChunkId) && r.Target == n3.Name);
        Assert.Equal(old.Order(StringComparer.Ordinal), atN1.Select(e => e.Event).OfType<ReplicationDropped>()
            .Where(d => d.Target == n3.Name).Select(d => d.ChunkId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void An_unreferenced_copy_keeps_its_grace_from_its_last_use_on_the_monotonic_clock_across_a_wall_clock_jump()
    {
        // Kills in GarbageCollector.cs: 74 ("created < horizon && !UsedRecently" as "||", and "... || !IsMoving"),
        // 45 ("now - use.At" as "now + use.At": every use was forgotten once the clock passed half the grace) and
        // 48 (an expired use removed a later use of the same chunk too). n2 receives a copy no manifest references
        // (as a write's chunk whose manifest is on its way), a write counts it 10 s later, and n2's wall clock
        // steps an hour ahead: only the monotonic clock since that last use may count.
        using var cluster = CraftedExchange.Create(seed: 47, Collecting with
        {
            ReplicationFactor = 2, RepairScanIntervalMicroseconds = 3_600 * Second,
        });
        cluster.Sim.RunFor(30 * Second); // Past half the grace since the start.
        var data = KeplerCluster.Bytes(C, 7);
        var id = ChunkStore.IdOf(data);
        Assert.True(CraftedExchange.Store(cluster, id, data).Durable);
        cluster.Sim.RunFor(10 * Second);
        var reply = CraftedExchange.Exchange(cluster, async connection =>
        {
            // A write of the same bytes finds the copy here and counts it: a use of the copy.
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
        Assert.True(reply.Durable);
        cluster.Nodes[1].Clock.Jump(3_600 * Second);

        cluster.Sim.RunFor(15 * Second); // 25 s after the store, 15 s after the write counted it.
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(id) is null, 10 * Second),
            "the copy to be collected once the grace since its last use has passed");
    }

    [Fact]
    public void An_unreferenced_copy_keeps_its_grace_on_the_wall_clock_after_a_restart()
    {
        // Kills in GarbageCollector.cs: 64 (the horizon "now - grace" as "now + grace") and 74 ("&&" as "||"
        // between the two clocks): a restarted node has no uses in memory, so only the copy's row (created_at)
        // still says it is young.
        using var cluster = CraftedExchange.Create(seed: 48, Collecting with
        {
            ReplicationFactor = 2, RepairScanIntervalMicroseconds = 3_600 * Second,
        });
        var data = KeplerCluster.Bytes(C, 8);
        var id = ChunkStore.IdOf(data);
        Assert.True(CraftedExchange.Store(cluster, id, data).Durable);
        cluster.Nodes[1].Crash();
        cluster.Start(cluster.Nodes[1]);

        cluster.Sim.RunFor(10 * Second);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(id) is null, 20 * Second),
            "the copy to be collected once its row is older than the grace");
    }
}
