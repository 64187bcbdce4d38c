using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// A copy a node holds without owning it (a hinted copy: here a fast write on a node that is not among the chunk's
/// owners) is handed to every owner, kept while any owner still lacks it, kept for
/// <see cref="KeplerOptions.SurplusGraceMicroseconds"/> after the last owner confirmed it, then dropped, row and file,
/// on time; a copy that turns out to be needed again during the grace (its node became an owner) is kept. Written for
/// the Stryker survivors of Replication/ReplicationWorker.cs's surplus bookkeeping (docs/TESTING.md): no test looked at
/// when a surplus copy goes, only that it eventually does.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SurplusCopyTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const long Second = SimHarness.Second;
    private const long Grace = 3 * Second;

    private static readonly KeplerOptions Options = new()
    {
        ChunkSizeBytes = C,
        SurplusGraceMicroseconds = Grace,
        RetryBaseMicroseconds = 400_000,
        RetryMaxMicroseconds = 1_600_000,
    };

    private static readonly long Poll = Options.ReplicationPollMicroseconds;

    [Theory]
    [InlineData(1)] // The last owner confirms within the grace of the first.
    [InlineData(5)] // The last owner lacks it for longer than the grace.
    public void A_hinted_copy_is_kept_until_every_owner_has_it_and_for_the_grace_after_then_dropped(int lateSeconds)
    {
        // Kills in ReplicationWorker.cs: the grace comparison of SweepSurplus as "> grace", negated or "now + since"
        // and its "continue" removed (dropped before the grace); "surplus = true" in Delivered (the grace counted from
        // the first owner's copy, not the last: lateSeconds 1); "if (surplus)" negated (never dropped); "All" as "Any"
        // in IsConfirmedSurplus (dropped while an owner still lacked it: lateSeconds 5); the row's or the file's
        // deletion removed (one stayed behind); the ChunkReplicated event removed; NextTickDelay's "in flight or
        // surplus" poll as "&&", negated or removed (an idle worker slept its 5 s idle poll past the grace's end).
        using var cluster = KeplerCluster.Create(4, seed: 71, Options);
        var (n1, chunk, data, owners) = Unowned(cluster);
        var late = owners[^1];
        var events = Record(cluster, n1);
        SetFull(late, true);
        cluster.Put(0, "h", data, Durability.Fast);
        Assert.Equal(chunk, cluster.ChunksOf(0, "h").Single());
        Assert.True(cluster.Sim.RunUntil(() => Replicated(events, chunk).Count == 2, Second),
            "n1 to deliver its hinted copy to the two owners with room");

        cluster.Sim.RunFor(lateSeconds * Second);
        AssertHeld(cluster, n1, chunk, events, $"while {late.Name} still lacks it");
        Assert.NotNull(cluster.Kepler(n1).Meta.GetQueueEntry(chunk, new NodeId(late.Name)));

        SetFull(late, false);
        Assert.True(cluster.Sim.RunUntil(() => Replicated(events, chunk).Count == 3, 5 * Second),
            $"n1 to deliver the copy to {late.Name} once it has room");
        Assert.Equal(owners.Select(o => o.Name).Order(), Replicated(events, chunk).Select(r => r.Target).Order());
        var confirmedAt = events
            .Single(e => e.Event is ChunkReplicated r && r.ChunkId == chunk && r.Target == late.Name).At;

        // Kept for the grace after the last owner confirmed it, then dropped within two polls.
        cluster.Sim.RunUntil(confirmedAt + Grace - 2 * Poll);
        AssertHeld(cluster, n1, chunk, events, "during the grace");
        cluster.Sim.RunUntil(confirmedAt + Grace + 2 * Poll);
        AssertDropped(cluster, n1, chunk, events);
        Assert.Equal(3, cluster.DurableOwnerCopies(chunk));
    }

    [Fact]
    public void A_surplus_copy_whose_node_becomes_an_owner_during_the_grace_is_kept()
    {
        // Kills in SweepSurplus "IsConfirmedSurplus(...) && !_inFlight.Any(...)" as "||": a copy that stopped being
        // surplus during its grace (its node became an owner when an owner died) was deleted anyway, nothing of it
        // being in flight, and the chunk was one copy short until a repair scan of another node noticed.
        var options = Options with { SurplusGraceMicroseconds = 30 * Second };
        using var cluster = KeplerCluster.Create(4, seed: 72, options);
        var (n1, chunk, data, owners) = Unowned(cluster);
        var events = Record(cluster, n1);
        cluster.Put(0, "h", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => Replicated(events, chunk).Count == 3, Second),
            "n1 to deliver its hinted copy to the three owners");
        var confirmedAt = events.Last(e => e.Event is ChunkReplicated).At;

        cluster.Kill(owners[^1]); // SWIM declares it dead: n1 is one of the chunk's three owners now.
        Assert.Contains(new NodeId(n1.Name), cluster.Kepler(n1).Ring.OwnersOf(chunk));
        Assert.True(cluster.Sim.Now < confirmedAt + options.SurplusGraceMicroseconds,
            "the death was declared within the grace");
        cluster.Sim.RunUntil(confirmedAt + options.SurplusGraceMicroseconds + 2 * Poll);
        Assert.True(cluster.Kepler(n1).Meta.GetChunk(chunk) is { State: ChunkState.Durable },
            "n1 lost (or does not own) the copy it owns now");
        Assert.True(n1.Disk.Exists(ChunkStore.PathOf(chunk)), "n1 deleted the file of the copy it owns now");
        Assert.DoesNotContain(events, e => e.Event is SurplusDropped);
    }

    [Fact]
    public void A_hinted_copy_its_node_owns_before_the_scan_reconciles_it_is_kept_when_its_grace_ends()
    {
        // Kills in IsConfirmedSurplus "Hinted && !OwnsChunk" as "Hinted || !OwnsChunk" (Stryker's mutant: the
        // operands grouped as "(Hinted || !OwnsChunk) && every owner confirmed"; the eighth session applied it by
        // hand without the parentheses, a different mutant, and saw SurplusCopyTests kill it while Stryker's
        // survived). The row's state follows the ring only when a repair scan reaches the chunk, so between a ring
        // change that makes a node an owner and that scan its copy is still marked hinted; ownership alone must keep
        // it. Here the scan is slow (one chunk a second, n1 holds 41): the first death's scan sleeps after its page
        // while the second death makes n1 an owner, and the copy's grace ends before the scan comes back to it.
        var options = Options with { SurplusGraceMicroseconds = 20 * Second, RepairScanChunksPerSecond = 1 };
        using var cluster = KeplerCluster.Create(5, seed: 77, options);
        var (n1, chunk, data, owners) = Unowned(cluster);
        var bystander = cluster.Nodes.Single(n => n != n1 && !owners.Contains(n));
        var events = Record(cluster, n1);
        cluster.Put(0, "h", data, Durability.Fast);
        cluster.Put(0, "many", KeplerCluster.Bytes(40 * C, 900), Durability.Fast); // The slow scan's 40 other chunks.
        Assert.True(cluster.Sim.RunUntil(() => Replicated(events, chunk).Count == 3, Second),
            "n1 to deliver its hinted copy to the three owners");
        var confirmedAt = events.Last(e => e.Event is ChunkReplicated r && r.ChunkId == chunk).At;

        cluster.Kill(bystander); // Not an owner: the ring change starts a scan, which reconciles its page and sleeps.
        Assert.DoesNotContain(new NodeId(n1.Name), cluster.Kepler(n1).Ring.OwnersOf(chunk));
        cluster.Kill(owners[^1]); // Three members left: n1 owns every chunk now, its copy still marked hinted.
        Assert.Contains(new NodeId(n1.Name), cluster.Kepler(n1).Ring.OwnersOf(chunk));
        Assert.True(cluster.Kepler(n1).Meta.GetChunk(chunk) is { State: ChunkState.Hinted },
            "the scan reconciled the copy before its grace ended: the case is not reached");
        Assert.True(cluster.Sim.Now < confirmedAt + options.SurplusGraceMicroseconds,
            "both deaths were declared within the grace");

        cluster.Sim.RunUntil(confirmedAt + options.SurplusGraceMicroseconds + 2 * Poll);
        Assert.DoesNotContain(events, e => e.Event is SurplusDropped);
        Assert.True(n1.Disk.Exists(ChunkStore.PathOf(chunk)), "n1 deleted the file of a copy it owns");
        Assert.True(cluster.Kepler(n1).Meta.GetChunk(chunk) is { State: ChunkState.Hinted },
            "the copy's grace ended after the scan had reconciled it: the case is not reached");
        Assert.True(cluster.Sim.RunUntil(
                () => cluster.Kepler(n1).Meta.GetChunk(chunk) is { State: ChunkState.Durable }, 60 * Second),
            "n1's scan to mark the copy it owns durable");
    }

    [Fact]
    public void A_surplus_copy_is_dropped_on_time_while_deliveries_of_other_chunks_are_in_flight()
    {
        // Kills in SweepSurplus "_inFlight.Any(f => f.ChunkId == chunkId)" as "!=" (no test reached the lambda): any
        // other delivery in flight at the sweep kept the copy, and as the sweep had already forgotten it, for good.
        // The last owner's disk turns slow (each fsync 1 s), so n1's deliveries of a second write to it stay in
        // flight for seconds, across the first copy's grace.
        using var cluster = KeplerCluster.Create(4, seed: 73, Options);
        var (n1, chunk, data, owners) = Unowned(cluster);
        var events = Record(cluster, n1);
        cluster.Put(0, "h", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => Replicated(events, chunk).Count == 3, Second),
            "n1 to deliver its hinted copy to the three owners");
        var confirmedAt = events.Last(e => e.Event is ChunkReplicated).At;

        var slow = owners[^1];
        slow.Disk.Faults = slow.Disk.Faults with { LatencyMinMicroseconds = 100_000, LatencyMaxMicroseconds = 100_000 };
        cluster.Put(0, "busy", KeplerCluster.Bytes(32 * C, 500), Durability.Fast);
        cluster.Sim.RunUntil(confirmedAt + Grace + 2 * Poll);
        AssertDropped(cluster, n1, chunk, events);
        Assert.True(cluster.Kepler(n1).QueueDepth > 0, $"n1's deliveries to the slow {slow.Name} were over");
    }

    [Fact]
    public void A_restarted_node_drops_a_surplus_copy_once_its_first_scan_finds_every_owner_holding_it()
    {
        // Kills in NoteConfirmed (the repair scan's batched offer confirmed every owner holds a hinted copy): the
        // check negated and the TryAdd removed. A restart forgets which copies were in their grace, and no delivery
        // is left to bring them back: only the scan's offer does, and without it the copy stayed for good.
        using var cluster = KeplerCluster.Create(4, seed: 74, Options);
        var (n1, chunk, data, _) = Unowned(cluster);
        var before = Record(cluster, n1);
        cluster.Put(0, "h", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => Replicated(before, chunk).Count == 3, Second),
            "n1 to deliver its hinted copy to the three owners");

        n1.Crash();
        cluster.Start(n1);
        var events = Record(cluster, n1);
        var restartedAt = cluster.Sim.Now;
        Assert.Equal(0, cluster.Kepler(n1).QueueDepth); // Nothing to deliver again: the offer is what confirms it.
        AssertHeld(cluster, n1, chunk, events, "right after its restart");
        cluster.Sim.RunUntil(restartedAt + Grace + Second);
        AssertDropped(cluster, n1, chunk, events);
        Assert.Empty(Replicated(events, chunk));
        Assert.Equal(3, cluster.DurableOwnerCopies(chunk));
    }

    [Fact]
    public void A_surplus_copy_is_dropped_on_time_while_chunks_keep_arriving()
    {
        // Kills in Nudge "now + poll" as "now - poll": every chunk received (each one kicks the worker) pushed the
        // worker's next look back by a poll, so while chunks kept arriving faster than that it never looked, and a
        // surplus copy (or a progress event) waited for the stream to end. n2 writes a long file (20 ms links, so its
        // chunks reach n1 a few dozen times a second for seconds) across the copy's grace.
        var network = new NetworkFaults { LatencyMinMicroseconds = 20_000, LatencyMaxMicroseconds = 20_000 };
        var options = Options with { SurplusGraceMicroseconds = Second };
        using var cluster = KeplerCluster.Create(4, seed: 76, options, network: network);
        var (n1, chunk, data, _) = Unowned(cluster);
        var events = Record(cluster, n1);
        cluster.Put(0, "h", data, Durability.Fast);
        Assert.True(cluster.Sim.RunUntil(() => Replicated(events, chunk).Count == 3, Second),
            "n1 to deliver its hinted copy to the three owners");
        var confirmedAt = events.Last(e => e.Event is ChunkReplicated).At;

        var stream = cluster.PutAsync(1, "stream", KeplerCluster.Bytes(120 * C, 700), Durability.Quorum);
        cluster.Sim.RunUntil(confirmedAt + options.SurplusGraceMicroseconds + 2 * Poll);
        AssertDropped(cluster, n1, chunk, events);
        Assert.False(stream.IsCompleted, "n2's write was over before the grace ended: nothing kept arriving");
        cluster.Sim.Await(stream, "n2's write");
    }

    [Fact]
    public void An_idle_worker_wakes_once_per_idle_poll_after_writes_and_a_surplus_drop()
    {
        // Kills in ReplicationWorker.cs: NextTickDelay's "_inFlight.Count > 0" or "_surplusSince.Count > 0" as ">= 0"
        // (an idle node woke every poll, five times a second, for nothing: issue 14); ScheduleTick's
        // "_tick?.Dispose()" removed (each write that woke an idle worker left one more timer chain behind);
        // SweepSurplus's "_surplusSince.Remove" removed (after its first surplus copy a node polled for good). Odd
        // intervals tell the worker's timers apart in the trace (each fired timer is recorded with its delay).
        var options = Options with
        {
            ReplicationPollMicroseconds = 230_000,
            ReplicationIdlePollMicroseconds = 4_700_000,
            RepairScanIntervalMicroseconds = 600 * Second,
        };
        using var cluster = KeplerCluster.Create(4, seed: 75, options);
        var (n1, chunk, data, _) = Unowned(cluster);
        var timers = new List<(long At, long Delay)>();
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Kind == TraceKind.TimerFired && record.Node == n1.Name)
            {
                timers.Add((record.TimeMicroseconds, record.A));
            }
        };
        cluster.Put(0, "h", data, Durability.Fast);
        for (var i = 0; i < 5; i++)
        {
            cluster.Sim.RunFor(Second); // Each write below wakes a worker that went idle after the one before.
            cluster.Put(0, $"w{i}", KeplerCluster.Bytes(2 * C, 600 + i), Durability.Fast);
        }

        Assert.True(cluster.Sim.RunUntil(() => !n1.Disk.Exists(ChunkStore.PathOf(chunk)), 10 * Second),
            "n1 to drop its surplus copy");
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * Second), "the queues to drain");
        cluster.Sim.RunFor(2 * options.ReplicationIdlePollMicroseconds);

        const long window = 30 * Second;
        var from = cluster.Sim.Now;
        cluster.Sim.RunFor(window);
        var idle = timers.Where(t => t.At > from).ToList();
        Assert.DoesNotContain(idle, t => t.Delay == options.ReplicationPollMicroseconds);
        var looks = idle.Count(t => t.Delay == options.ReplicationIdlePollMicroseconds);
        var expected = window / options.ReplicationIdlePollMicroseconds;
        Assert.InRange(looks, expected - 1, expected + 1);
    }

    /// <summary>Picks data of one chunk that n1 does not own, from the first data seed that gives one.</summary>
    private static (SimNode N1, string Chunk, byte[] Data, IReadOnlyList<SimNode> Owners) Unowned(
        KeplerCluster cluster)
    {
        var n1 = cluster.Nodes[0];
        var ring = cluster.Kepler(n1).Ring;
        for (var seed = 1; seed < 100; seed++)
        {
            var data = KeplerCluster.Bytes(C, seed);
            var chunk = ChunkStore.IdOf(data);
            var owners = ring.OwnersOf(chunk);
            if (!owners.Contains(new NodeId(n1.Name)))
            {
                return (n1, chunk, data, owners.Select(o => cluster.Sim.FindNode(o.Value)!).ToList());
            }
        }

        throw new InvalidOperationException("no data seed below 100 gives a chunk n1 does not own");
    }

    private static void AssertHeld(KeplerCluster cluster, SimNode node, string chunk,
        List<(long At, KeplerEvent Event)> events, string when)
    {
        Assert.True(cluster.Kepler(node).Meta.GetChunk(chunk) is { State: ChunkState.Hinted },
            $"{node.Name} lost the row of its copy {when}");
        Assert.True(node.Disk.Exists(ChunkStore.PathOf(chunk)), $"{node.Name} lost the file of its copy {when}");
        Assert.DoesNotContain(events, e => e.Event is SurplusDropped d && d.ChunkId == chunk);
    }

    private static void AssertDropped(KeplerCluster cluster, SimNode node, string chunk,
        List<(long At, KeplerEvent Event)> events)
    {
        Assert.Null(cluster.Kepler(node).Meta.GetChunk(chunk));
        Assert.False(node.Disk.Exists(ChunkStore.PathOf(chunk)), $"{node.Name} kept the file of a dropped copy");
        Assert.Single(events, e => e.Event is SurplusDropped d && d.ChunkId == chunk);
    }

    private static List<ChunkReplicated> Replicated(List<(long At, KeplerEvent Event)> events, string chunk) =>
        events.Select(e => e.Event).OfType<ChunkReplicated>().Where(r => r.ChunkId == chunk).ToList();

    private static void SetFull(SimNode node, bool full) =>
        node.Disk.Faults = node.Disk.Faults with { CapacityBytes = full ? node.Disk.UsedBytes : 64L << 30 };

    /// <summary>Every event the node publishes, with its virtual time.</summary>
    internal static List<(long At, KeplerEvent Event)> Record(KeplerCluster cluster, SimNode node)
    {
        var events = new List<(long At, KeplerEvent Event)>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is KeplerEvent kepler)
            {
                events.Add((cluster.Sim.Now, kepler));
            }
        });
        return events;
    }
}
