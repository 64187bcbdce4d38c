using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// The replication worker facing a target it cannot reach and a source copy it cannot read: a write's direct pushes
/// skip an owner whose push broke (for <see cref="KeplerOptions.RetryMaxMicroseconds"/>, leaving it to the queue)
/// and go direct again after; a queued delivery whose local copy turns out corrupt restores it from a peer and then
/// delivers, or, when no peer has it, drops the entry instead of retrying forever; a refused delivery of an intact
/// copy (a "busy" answer) never touches the copy. Written for the open Stryker
/// survivors of Replication/ReplicationWorker.cs (docs/TESTING.md "Replication survivors").
/// </summary>
[Trait("Category", "Fast")]
public sealed class ReplicationTargetTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const long Second = SimHarness.Second;
    private const long RetryMax = 10 * Second;

    [Fact]
    public void A_write_stops_pushing_to_an_unreachable_owner_until_retry_max_then_pushes_direct_again()
    {
        // Kills in ReplicationWorker.cs PushAsync: the pause check ("TryGetValue(...) && now < until") removed,
        // negated or as "||", "broken = true" removed, "_pushPausedUntil[target] = ..." removed or with "- RetryMax".
        // Without the pause every chunk's upload buffer waited for its push to the unreachable owner to time out
        // (1 s connect timeout, 4 chunks in flight: 32 chunks took 8 s instead of 1 s); paused for good, a later
        // write's chunks went through the queue (read back from disk) instead of straight from memory.
        var options = Retrying(RetryMax);
        // Static members: n3 stays an owner while cut off (SWIM would drop it from the ring and nothing is pushed).
        using var cluster = KeplerCluster.Create(3, seed: 95, options, membership: MembershipMode.Static);
        var (n1, n3) = (cluster.Nodes[0], cluster.Nodes[2]);
        var retries = new List<ReplicationRetry>();
        n1.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is ReplicationRetry retry)
            {
                retries.Add(retry);
            }
        });
        cluster.Sim.Network.Partition([n1], [n3]);
        var start = cluster.Sim.Now;
        cluster.Put(0, "w1", KeplerCluster.Bytes(32 * C, 1), Durability.Quorum);
        var took = cluster.Sim.Now - start;
        Assert.True(took < 2 * Second, $"a quorum write of 32 chunks took {took} us with an owner unreachable");
        // The write waited for its first chunk's push to n3 to break, and that push counted as the entry's first
        // attempt (its backoff started): "Failed(entry, failure)" removed from PushAsync left it due at once, for
        // the pump to retry with no delay and no count. Kills that too.
        var first = cluster.ChunksOf(0, "w1")[0];
        Assert.Contains(retries, r => r.ChunkId == first && r.Target == n3.Name && r.Attempts == 1);

        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 60 * Second), "the queue to drain");
        cluster.Sim.RunFor(RetryMax); // Any pause of direct pushes to n3 is over.
        var kepler = cluster.Kepler(0);
        var readBefore = kepler.Store.ChunksRead;
        cluster.Put(0, "w2", KeplerCluster.Bytes(8 * C, 2), Durability.Quorum);
        var chunks = cluster.ChunksOf(0, "w2");
        Assert.True(cluster.Sim.RunUntil(() => chunks.All(id => cluster.Holders(id).Contains(n3.Name)), 5 * Second),
            "the second write's chunks to reach n3");
        Assert.Equal(readBefore, kepler.Store.ChunksRead); // Pushed from the upload's memory, not read back.
    }

    [Fact]
    public void A_push_answered_busy_does_not_pause_direct_pushes_to_that_owner()
    {
        // Kills in PushAsync "var broken = false" as "true": any failed push, a refusal answered "busy" included,
        // paused direct pushes to the owner for RetryMax, and the next writes' chunks to it were read back from disk
        // by the queue. n1 and n2 write the same content at the same instant, so n3 is offered the chunk by both at
        // once and answers one of them "busy" (it is receiving it from the other): a refusal, not a broken stream.
        using var cluster = KeplerCluster.Create(3, seed: 94, Retrying(RetryMax));
        var n3 = cluster.Nodes[2];
        var retries = new List<(SimNode From, ReplicationRetry Retry)>();
        foreach (var node in cluster.Nodes.Take(2))
        {
            node.Runtime!.Events.Stream.Subscribe(e =>
            {
                if (e is ReplicationRetry retry)
                {
                    retries.Add((node, retry));
                }
            });
        }

        var data = KeplerCluster.Bytes(C, 7);
        var writes = new[]
        {
            cluster.PutAsync(0, "a", data, Durability.Quorum), cluster.PutAsync(1, "b", data, Durability.Quorum),
        };
        cluster.Sim.Await(Task.WhenAll(writes), "both writes of the same content");
        var (busy, _) = Assert.Single(retries,
            r => r.Retry.Target == n3.Name && r.Retry.Reason == StoreChunkReply.Busy);
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * Second), "the queues to drain");

        // Well within RetryMax of the busy answer: the writer's next chunks still go straight from memory to n3.
        var writer = cluster.Kepler(busy);
        var readBefore = writer.Store.ChunksRead;
        var index = cluster.Nodes.ToList().IndexOf(busy);
        cluster.Put(index, "c", KeplerCluster.Bytes(8 * C, 8), Durability.Quorum);
        var chunks = cluster.ChunksOf(index, "c");
        Assert.True(cluster.Sim.RunUntil(() => chunks.All(id => cluster.Holders(id).Contains(n3.Name)), 5 * Second),
            "the next write's chunks to reach n3");
        Assert.Equal(readBefore, writer.Store.ChunksRead); // Pushed from the upload's memory, not read back.
    }

    [Fact]
    public void A_delivery_that_finds_its_local_copy_corrupt_restores_it_from_a_peer_then_delivers()
    {
        // Kills in ReplicationWorker.cs TryDeliverAsync (no test reached it): "failure is not null && corrupt &&
        // !await ReplaceCorruptLocalCopyAsync(...) ? NoLocalCopy : failure" with its conditions flipped or removed.
        // n3 refuses the chunk (full disk) while n2 takes it; then n1's copy rots. Once n3 has room the worker reads
        // the corrupt copy, restores it from n2 and delivers on its next attempt.
        var options = Retrying(1_600_000);
        using var cluster = KeplerCluster.Create(3, seed: 96, options, membership: MembershipMode.Static);
        var (n1, n3) = (cluster.Nodes[0], cluster.Nodes[2]);
        SetFull(n3, true);
        cluster.Put(0, "r", KeplerCluster.Bytes(C, 3), Durability.Quorum);
        var chunk = cluster.ChunksOf(0, "r").Single();
        cluster.Sim.RunFor(Second);
        Assert.Equal(["n1", "n2"], cluster.Holders(chunk).Order(StringComparer.Ordinal));
        Assert.True(n1.Disk.Corrupt(ChunkStore.PathOf(chunk)));

        SetFull(n3, false);
        Assert.True(cluster.Sim.RunUntil(
            () => cluster.Holders(chunk).Contains(n3.Name) && cluster.TotalQueueDepth() == 0, 10 * Second),
            "n1 to restore its copy from n2 and deliver it to n3");
        Assert.Equal(3, cluster.DurableOwnerCopies(chunk));
        Assert.Equal(ChunkStatus.Ok, Verify(cluster, n1, chunk)); // n1's copy restored.
    }

    [Fact]
    public void A_delivery_whose_only_copy_is_corrupt_drops_its_entries_instead_of_retrying_forever()
    {
        // The other branch of the same line: no peer has the chunk, so the copy is dropped with its entries and the
        // queue drains (scenarios/regressions/corrupt-copy-blocks-queue.yaml, here without the scenario runner).
        var options = Retrying(1_600_000);
        using var cluster = KeplerCluster.Create(3, seed: 97, options, membership: MembershipMode.Static);
        var n1 = cluster.Nodes[0];
        SetFull(cluster.Nodes[1], true);
        SetFull(cluster.Nodes[2], true);
        cluster.Put(0, "lost", KeplerCluster.Bytes(C, 4), Durability.Fast);
        var chunk = cluster.ChunksOf(0, "lost").Single();

        // First, refused deliveries of the intact copy leave it alone, however often they fail. (A full target
        // closes the stream, so the refusal arrives as an exception: a refusal that arrives as an answer is
        // A_busy_answer_for_an_intact_sole_copy_leaves_the_copy_alone.)
        cluster.Sim.RunFor(3 * Second);
        Assert.Equal(["n1"], cluster.Holders(chunk));
        Assert.Equal(2, cluster.Kepler(n1).QueueDepth);
        Assert.Equal(ChunkStatus.Ok, Verify(cluster, n1, chunk));

        Assert.True(n1.Disk.Corrupt(ChunkStore.PathOf(chunk)));
        SetFull(cluster.Nodes[1], false);
        SetFull(cluster.Nodes[2], false);

        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * Second),
            "the entries of a chunk no node can serve to be dropped");
        Assert.Empty(cluster.Holders(chunk));
        Assert.Null(cluster.Kepler(n1).Meta.GetChunk(chunk));
    }

    [Fact]
    public void A_busy_answer_for_an_intact_sole_copy_leaves_the_copy_alone()
    {
        // Kills in ReplicationWorker.cs TryDeliverAsync: "failure is not null && corrupt" as "||" (the worker
        // "replaced" an intact copy after any refused delivery: with no peer to restore from, that deleted it).
        // A refusal that arrives as an answer is "busy": n2 is receiving the chunk from n3, which stalls half-way
        // (paused after its offer), so n2 holds the chunk's store open for its transfer timeout; meanwhile n1's
        // delivery of the same chunk to n2 is answered "busy", and no peer could serve n1 a copy (n2 has none yet,
        // n3 does not answer).
        var options = Retrying(1_600_000);
        using var cluster = KeplerCluster.Create(3, seed: 98, options, membership: MembershipMode.Static);
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        var data = KeplerCluster.Bytes(C, 4);
        var targets = new SortedDictionary<long, string>();
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Kind == TraceKind.StreamOpened && record.Detail is { } from)
            {
                targets[record.A] = $"{from}->{record.Node}";
            }
        };
        var retries = new List<ReplicationRetry>();
        n1.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is ReplicationRetry retry)
            {
                retries.Add(retry);
            }
        });

        // n1 and n3 both hold the chunk (two files of the same content) and both owe it to n2, which is full.
        SetFull(n2, true);
        cluster.Sim.Network.Partition([n1], [n2]);
        cluster.Put(0, "a", data, Durability.Fast);
        var chunk = cluster.ChunksOf(0, "a").Single();
        cluster.Put(2, "b", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => cluster.Holders(chunk).Count == 2, 5 * Second), "n1 and n3 to hold it");

        // n2 has room again: n3's next offer is answered "ready", and n3 stalls before sending the bytes.
        var stalled = false;
        var busy = 0;
        cluster.Sim.Network.StreamTap = (id, from, frame) =>
        {
            var decoded = FrameCodec.Decode(frame);
            if (!stalled && from == n3 && targets.GetValueOrDefault(id) == "n3->n2"
                && decoded is StoreChunkRequest { ChunkId: var offered } && offered == chunk)
            {
                stalled = true;
                cluster.Sim.Schedule(0, n3.Pause);
            }
            else if (from == n2 && targets.GetValueOrDefault(id) == "n1->n2"
                && decoded is StoreChunkReply { Error: StoreChunkReply.Busy, ChunkId: var refused } && refused == chunk)
            {
                busy++;
            }
        };
        SetFull(n2, false);
        Assert.True(cluster.Sim.RunUntil(() => n3.State == SimNodeState.Paused, 10 * Second), "n3 to offer and stall");
        cluster.Sim.RunFor(Second / 10); // n2 answered "ready" and waits for the bytes.
        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => busy > 0, options.TransferTimeoutMicroseconds),
            "n2 to answer n1's delivery busy");

        // The intact copy stays, on record and on disk, and its delivery is retried as busy, not dropped.
        cluster.Sim.RunFor(2 * Second);
        Assert.NotNull(cluster.Kepler(n1).Meta.GetChunk(chunk));
        Assert.Equal(ChunkStatus.Ok, Verify(cluster, n1, chunk));
        Assert.Contains(retries, r => r.ChunkId == chunk && r.Target == n2.Name && r.Reason == StoreChunkReply.Busy);

        n3.Resume();
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 30 * Second), "the queues to drain");
        Assert.Equal(3, cluster.DurableOwnerCopies(chunk));
    }

    private static KeplerOptions Retrying(long retryMaxMicroseconds) => new()
    {
        ChunkSizeBytes = C,
        RetryBaseMicroseconds = 400_000,
        RetryMaxMicroseconds = retryMaxMicroseconds,
    };

    private static ChunkStatus Verify(KeplerCluster cluster, SimNode node, string chunk) =>
        cluster.Sim.Await(node.Spawn(_ => cluster.Kepler(node).Store.VerifyAsync(chunk)), $"verify on {node.Name}");

    private static void SetFull(SimNode node, bool full) =>
        node.Disk.Faults = node.Disk.Faults with { CapacityBytes = full ? node.Disk.UsedBytes : 64L << 30 };
}
