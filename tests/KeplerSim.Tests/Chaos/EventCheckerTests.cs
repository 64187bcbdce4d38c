using CsCheck;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Chaos;

/// <summary>
/// The checkers that cannot be fooled by the code they check: the independent placement reference, the
/// acknowledgement-time durability check and the false-death judge each hold on a healthy cluster and fail on
/// what they guard.
/// </summary>
[Trait("Category", "Fast")]
public sealed class EventCheckerTests
{
    private static readonly Gen<string> ChunkIdGen = Gen.Byte.Array[32].Select(Convert.ToHexStringLower);

    [Fact]
    public void The_placement_reference_agrees_with_the_core_ring_on_random_rings()
    {
        Gen.Select(Gen.Int[1, 12], Gen.Int[1, 256], Gen.Int[1, RingOptions.ReplicationFactorMax],
                Gen.String[Gen.Char.AlphaNumeric, 1, 6].Array[1, 12], ChunkIdGen.Array[1, 20])
            .Sample((count, vnodes, replicas, names, chunks) =>
            {
                var nodes = names.Take(count).Distinct(StringComparer.Ordinal).ToList();
                var core = new HashRing(nodes.Select(n => new NodeId(n)), new RingOptions(vnodes, replicas));
                var reference = new PlacementReference(nodes, vnodes, replicas);
                foreach (var id in chunks)
                {
                    Assert.Equal(core.OwnersOf(id).Select(o => o.Value), reference.OwnersOf(id));
                }
            }, iter: 300);
    }

    [Fact]
    public void The_placement_reference_rejects_a_ring_with_a_wrong_placement()
    {
        // A core ring whose walk is right but whose virtual node positions are off by one stratum's worth: every
        // owner computation through it looks consistent, only an independent reference can tell.
        var nodes = new[] { "n1", "n2", "n3", "n4", "n5" };
        var options = new RingOptions(16, 3);
        var shifted = HashRing.WithPlacement(nodes.Select(n => new NodeId(n)), options,
            (node, count) => PlacementReference.PositionsOf(node.Value, count).Select(p => p + (ulong.MaxValue / 7))
                .ToArray());
        var reference = new PlacementReference(nodes, 16, 3);
        var ids = Enumerable.Range(0, 200).Select(i => Convert.ToHexStringLower(
            System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)))).ToList();
        var differ = ids.Count(id => !shifted.OwnersOf(id).Select(o => o.Value).SequenceEqual(reference.OwnersOf(id)));
        Assert.True(differ > 50, $"only {differ} of 200 chunks placed differently by the shifted ring");
        var right = HashRing.WithPlacement(nodes.Select(n => new NodeId(n)), options,
            (node, count) => PlacementReference.PositionsOf(node.Value, count).ToArray());
        Assert.All(ids, id => Assert.Equal(new HashRing(nodes.Select(n => new NodeId(n)), options).OwnersOf(id),
            right.OwnersOf(id)));
    }

    [Fact]
    public void Replicas_on_owners_fails_when_a_copy_sits_on_a_node_the_reference_does_not_name()
    {
        using var cluster = KeplerCluster.Create(3, seed: 7, new KeplerOptions
        {
            ChunkSizeBytes = KeplerCluster.ChunkSize, ReplicationFactor = 1,
        });
        var context = new CheckContext(cluster.Sim, new KeplerOptions
        {
            ChunkSizeBytes = KeplerCluster.ChunkSize, ReplicationFactor = 1,
        }, new FileLedger());
        cluster.Put(0, "f", KeplerCluster.Bytes(100, 3), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => InvariantChecks.Check(InvariantCatalog.NoSurplusCopies, context) is null,
            30 * SimHarness.Second), "waiting for n1 to drop its hinted copy once the owner has it");
        Assert.Null(InvariantChecks.Check(InvariantCatalog.ReplicasOnOwners, context));

        // Move the only copy from its owner to another node: misplaced.
        var id = cluster.ChunksOf(0, "f")[0];
        var owner = new PlacementReference(["n1", "n2", "n3"], context.Options.VirtualNodesPerNode, 1).OwnersOf(id)[0];
        var (from, to) = (cluster.Sim.FindNode(owner)!, cluster.Nodes.First(n => n.Name != owner));
        var bytes = from.Disk.Peek(ChunkStore.PathOf(id))!;
        Assert.True(from.Disk.Corrupt(ChunkStore.PathOf(id)));
        context.Inspector.Invalidate(from.Name, ChunkStore.PathOf(id));
        Plant(cluster, to, id, bytes);
        Assert.Contains($"missing on {owner}", InvariantChecks.Check(InvariantCatalog.ReplicasOnOwners, context));
        Assert.Contains($"surplus on {to.Name}", InvariantChecks.Check(InvariantCatalog.NoSurplusCopies, context));
    }

    [Fact]
    public void Copies_durable_at_ack_holds_after_a_put_and_fails_when_the_promised_copies_are_not_there()
    {
        using var cluster = KeplerCluster.Create(3, seed: 8);
        var context = new CheckContext(cluster.Sim, new KeplerOptions { ChunkSizeBytes = KeplerCluster.ChunkSize },
            new FileLedger());
        var info = cluster.Put(0, "f", KeplerCluster.Bytes(3 * KeplerCluster.ChunkSize, 4), Durability.All);
        var ack = WriteAck.Parse($"write.ack WriteAcknowledged {{ Path = f, Version = {info.Version}, " +
            "Durability = All, Chunks = 3, SizeBytes = 3072 }")!;
        Assert.NotNull(ack);
        Assert.Null(InvariantChecks.CopiesDurableAtAck(context.Cluster, context.Cluster.Nodes[0], ack));

        // One copy of one chunk gone bad (no known fault): 'all' promised 3, there are 2; 'quorum' promised 2.
        var id = cluster.ChunksOf(0, "f")[1];
        Assert.True(cluster.Nodes[2].Disk.Corrupt(ChunkStore.PathOf(id)));
        context.Inspector.Invalidate("n3", ChunkStore.PathOf(id));
        var failure = InvariantChecks.CopiesDurableAtAck(context.Cluster, context.Cluster.Nodes[0], ack);
        Assert.NotNull(failure);
        Assert.Contains($"{id[..12]} on [n1,n2]", failure, StringComparison.Ordinal);
        Assert.Null(InvariantChecks.CopiesDurableAtAck(context.Cluster, context.Cluster.Nodes[0],
            ack with { Durability = "Quorum" }));

        // The contract: N over the members known (started, not left); 'quorum' N/2+1, 'fast' 1.
        Assert.Equal(3, InvariantChecks.PromisedCopies("All", 3, 5));
        Assert.Equal(2, InvariantChecks.PromisedCopies("Quorum", 3, 5));
        Assert.Equal(1, InvariantChecks.PromisedCopies("Fast", 3, 5));
        Assert.Equal(2, InvariantChecks.PromisedCopies("All", 3, 2));
        Assert.Equal(3, InvariantChecks.PromisedCopies("Quorum", 5, 5));
    }

    /// <summary>
    /// What a node learnt in the microsecond its write began counts only if it came first (chaos seed ckusBHaRnM02,
    /// scenarios/regressions/paused-seed-put-then-join.yaml: a put and a join queued on a paused node ran in that
    /// order at its resume, and comparing instants alone counted the join against the put).
    /// </summary>
    [Fact]
    public void A_moment_sees_what_came_before_it_in_the_same_microsecond_and_not_what_came_after()
    {
        var start = new Moment(4_042_000, Order: 10);
        Assert.True(start.Saw(new Moment(4_042_000, 9)), "an event of the same instant seen before the start");
        Assert.True(start.Saw(new Moment(4_042_000, 10)), "the event being handled when the start was noted");
        Assert.False(start.Saw(new Moment(4_042_000, 11)), "an event of the same instant after the start");
        Assert.True(start.Saw(new Moment(4_041_999, 3)));
        Assert.False(start.Saw(new Moment(4_042_001, 12)));

        // Known by instant only (real mode's starts): everything of that instant counts as before, as it always did.
        var unordered = new Moment(4_042_000, Moment.Unordered);
        Assert.True(unordered.Saw(new Moment(4_042_000, 11)));
        Assert.False(unordered.Saw(new Moment(4_042_001, 1)));
        Assert.True(new Moment(4_042_000, 11).Saw(new Moment(4_042_000, Moment.Unordered)));

        // The earliest of two open writes: by instant, then by order.
        Assert.True(new Moment(5, 100).CompareTo(new Moment(6, 1)) < 0);
        Assert.True(new Moment(5, 1).CompareTo(new Moment(5, 2)) < 0);
        Assert.Equal(0, new Moment(5, 2).CompareTo(new Moment(5, 2)));
    }

    [Fact]
    public void No_false_dead_flags_a_death_declared_while_both_ends_were_healthy()
    {
        using var sim = IdleCluster(5);
        var tracker = Tracker(sim);
        Feed(tracker, 10, TraceKind.NodeStarted, "n1", null);
        Assert.Null(Feed(tracker, 20_000_000, TraceKind.Protocol, "n1",
            "member.suspect MemberSuspectEvent { Member = n2, Incarnation = 0, From = n1 }"));
        var death = Feed(tracker, 25_000_000, TraceKind.Protocol, "n1",
            "member.dead MemberDeadEvent { Member = n2, Incarnation = 0, From = n1 }");
        Assert.NotNull(death);
        Assert.Contains("n1 declared n2 dead at 25s", death, StringComparison.Ordinal);

        // A death learnt from another node's declaration is that node's, not judged twice.
        Assert.Null(Feed(tracker, 25_100_000, TraceKind.Protocol, "n3",
            "member.dead MemberDeadEvent { Member = n2, Incarnation = 0, From = n1 }"));
        Assert.Single(tracker.FalseDeaths);
    }

    /// <summary>
    /// The event checkers read the events as the trace prints them: "kind " + the record, whose printed members
    /// start with the base's Kind. Until this test, their patterns expected "{ Path = …" and "{ Member = …", so on
    /// real runs copies_durable_at_ack and no_false_dead never judged anything (hand-written details hid it).
    /// </summary>
    [Fact]
    public void Event_checkers_read_events_as_the_trace_prints_them()
    {
        var printed = "write.ack " + new WriteAcknowledged("d/a", "1767225601217734.0@n1", "Quorum", 3, 3000);
        Assert.StartsWith("write.ack WriteAcknowledged { Kind = write.ack, Path = d/a,", printed,
            StringComparison.Ordinal);
        var ack = WriteAck.Parse(printed);
        Assert.NotNull(ack);
        Assert.Equal(("d/a", "Quorum", 3), (ack.Path, ack.Durability, ack.Chunks));

        using var sim = IdleCluster(5);
        var tracker = Tracker(sim);
        Feed(tracker, 10, TraceKind.NodeStarted, "n1", null);
        Feed(tracker, 20_000_000, TraceKind.Protocol, "n1",
            "member.suspect " + new Core.Membership.MemberSuspectEvent("n2", 0, "n1"));
        Assert.NotNull(Feed(tracker, 25_000_000, TraceKind.Protocol, "n1",
            "member.dead " + new Core.Membership.MemberDeadEvent("n2", 0, "n1")));
        Assert.Equal(1, tracker.Judged);
    }

    /// <summary>
    /// no_garbage_churn in the simulator: a collection as the trace prints it, and the clock moves the trace records
    /// (a jump by its delta; a skew set by the new skew plus the offset the node may have had: the profile's
    /// largest start skew, or what it was last set to plus its jumps since), which widen its window.
    /// (tests/KeplerSim.Tests/Real/RealEventFeedTests.cs judges the rule itself on events a real node writes.)
    /// </summary>
    [Fact]
    public void No_garbage_churn_reads_collections_and_clock_moves_from_the_trace()
    {
        using var sim = IdleCluster(3);
        var context = new CheckContext(sim, new KeplerOptions(), new FileLedger());
        var violations = new List<(string Name, string Detail)>();
        var checkers = new EventCheckers(context.Cluster, new SimReachability(sim),
            new SortedSet<string>(StringComparer.Ordinal) { InvariantCatalog.NoGarbageChurn },
            (name, detail) => violations.Add((name, detail))) { InitialSkewMaxMicroseconds = 2_000_000 };
        var collected = "chunk.collected " + new ChunkCollected(new string('a', 64));
        checkers.OnRecord(new TraceRecord(1_000_000, "n1", TraceKind.Protocol, collected, 0, 0));
        checkers.OnRecord(new TraceRecord(1_500_000, "n2", TraceKind.Protocol, collected, 0, 0));
        checkers.OnRecord(new TraceRecord(2_000_000, "n1", TraceKind.ClockJump, null, -3_000_000, 0));
        checkers.OnRecord(new TraceRecord(3_000_000, "n2", TraceKind.ClockJump, "set", 1_000_000, 0));
        checkers.OnRecord(new TraceRecord(4_000_000, "n2", TraceKind.ClockJump, "set", -500_000, 0));
        checkers.OnRecord(new TraceRecord(5_000_000, "n1", TraceKind.ClockJump, "set", 0, 0));
        // 3 (jump) + 1 + 2 (n2 may have started 2 s off) + 0.5 + 1 (n2 was set to 1 s) + 0 + 5 (n1: 2 + its 3 s jump).
        Assert.Equal(12_500_000, checkers.ClockMovedMicroseconds);
        Assert.Empty(violations);

        checkers.OnRecord(new TraceRecord(20_000_000, "n1", TraceKind.Protocol, collected, 0, 0));
        var (name, detail) = Assert.Single(violations);
        Assert.Equal(InvariantCatalog.NoGarbageChurn, name);
        Assert.StartsWith("n1 collected garbage aaaaaaaaaaaa again at 20s (2 times there, the one before at 1s): it " +
            "came back after 1s, not as a hinted copy's hand-over, when nothing could keep it any more (no file " +
            "version ever listed it",
            detail, StringComparison.Ordinal);
        Assert.Contains("+ clock moves (12.5s) before)", detail, StringComparison.Ordinal);
        Assert.Equal(3, checkers.GarbageCollections);
    }

    [Fact]
    public void No_false_dead_excuses_a_death_when_the_member_was_cut_off_from_the_majority()
    {
        using var sim = IdleCluster(5);
        var tracker = Tracker(sim);
        Feed(tracker, 10, TraceKind.NodeStarted, "n1", null);
        var (cut, rest) = (new[] { sim.Nodes[1] }, sim.Nodes.Where(n => n.Name != "n2").ToArray());
        sim.Network.Partition(cut, rest);
        Feed(tracker, 21_000_000, TraceKind.Partition, "-", "n2 | n1,n3,n4,n5");
        Feed(tracker, 22_000_000, TraceKind.Protocol, "n1",
            "member.suspect MemberSuspectEvent { Member = n2, Incarnation = 0, From = n1 }");
        Assert.Null(Feed(tracker, 27_000_000, TraceKind.Protocol, "n1",
            "member.dead MemberDeadEvent { Member = n2, Incarnation = 0, From = n1 }"));

        // A cut between declarer and member alone leaves both reachable from a majority: a death is false.
        sim.Network.Heal();
        sim.Network.Partition([sim.Nodes[0]], [sim.Nodes[2]]);
        Feed(tracker, 40_000_000, TraceKind.Partition, "-", "n1 | n3");
        Feed(tracker, 50_000_000, TraceKind.Protocol, "n1",
            "member.suspect MemberSuspectEvent { Member = n3, Incarnation = 0, From = n1 }");
        Assert.NotNull(Feed(tracker, 55_000_000, TraceKind.Protocol, "n1",
            "member.dead MemberDeadEvent { Member = n3, Incarnation = 0, From = n1 }"));

        // A paused member is not healthy: its death is excused.
        sim.Nodes[3].Pause();
        Feed(tracker, 60_000_000, TraceKind.NodePaused, "n4", null);
        Feed(tracker, 61_000_000, TraceKind.Protocol, "n1",
            "member.suspect MemberSuspectEvent { Member = n4, Incarnation = 0, From = n1 }");
        Assert.Null(Feed(tracker, 66_000_000, TraceKind.Protocol, "n1",
            "member.dead MemberDeadEvent { Member = n4, Incarnation = 0, From = n1 }"));
        Assert.Single(tracker.FalseDeaths);
    }

    private static FalseDeadTracker Tracker(Simulation sim) =>
        new(new CheckContext(sim, new KeplerOptions(), new FileLedger()).Cluster, new SimReachability(sim));

    /// <summary>Feeds what the simulator's trace would say: a protocol event, or a change of a node or the network.
    /// </summary>
    private static string? Feed(FalseDeadTracker tracker, long time, TraceKind kind, string node, string? detail)
    {
        if (kind == TraceKind.Protocol)
        {
            return MemberEventRecord.Of(CheckedEvent.FromTrace(node, detail!, time)) is { } e
                ? tracker.OnMemberEvent(e) : null;
        }

        tracker.OnHostChange(kind switch
        {
            TraceKind.NodeStarted => HostChange.NodeStarted,
            TraceKind.NodePaused => HostChange.NodePaused,
            TraceKind.Partition => HostChange.Partition,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a change these tests feed"),
        }, node, time);
        return null;
    }

    /// <summary>Writes a chunk file durably on a node's disk behind the protocol's back (a misplaced copy).</summary>
    private static void Plant(KeplerCluster cluster, SimNode node, string id, byte[] bytes)
    {
        async Task<bool> WriteAsync(NodeRuntime runtime)
        {
            var path = ChunkStore.PathOf(id);
            var directory = path[..path.LastIndexOf('/')];
            await runtime.Disk.CreateDirectoryAsync(directory);
            await using (var file = await runtime.Disk.CreateAsync(path))
            {
                await file.AppendAsync(bytes);
                await file.FsyncAsync();
            }

            await runtime.Disk.FsyncDirectoryAsync(directory);
            return true;
        }

        Assert.True(cluster.Sim.Await(node.Spawn(WriteAsync), "planting a misplaced copy"));
    }

    /// <summary>Nodes that run and do nothing: the kernel's ground truth without a protocol.</summary>
    private static Simulation IdleCluster(int nodes)
    {
        var sim = new Simulation(new SimulationOptions { Seed = 1 });
        for (var i = 1; i <= nodes; i++)
        {
            sim.AddNode($"n{i}", _ => new IdleProgram());
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        return sim;
    }

    private sealed class IdleProgram : INodeProgram
    {
        public Task StartAsync() => Task.CompletedTask;
    }
}
