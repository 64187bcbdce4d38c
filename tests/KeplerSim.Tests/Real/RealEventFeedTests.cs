using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.Json;
using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Real;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tests.Metadata;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Tests.Real;

/// <summary>
/// Real mode's event checkers (issue 19 point 2): the simulator's rules fed from the nodes' <c>/api/events</c>
/// streams, as real mode reads them (<see cref="RealEventStreams"/>), over nodes that are not simulated, and judged
/// against the driver's record of its own faults (<see cref="RealReachability"/>). Each check here holds on sound
/// state and bites, naming node and chunk or member, on state or a history that violates it: a real process cannot
/// be made to misbehave without editing core, so the stream lines are written as the node writes them.
/// </summary>
[Trait("Category", "Fast")]
public sealed class RealEventFeedTests
{
    private static readonly string Chunk = new('c', 64);
    private static readonly VersionToken Version = new(1_767_225_601_217_734, 0, new NodeId("n1"));

    [Fact]
    public void Stream_lines_are_what_the_node_writes()
    {
        // The node's Gateway writes `data: {"kind": ..., "data": <the event, camelCase>}`: pinned here, so a change
        // of the format breaks this test rather than silently starving real mode's checks of fields.
        var line = Line(new ChunkReplicated(Chunk, "n3"));
        Assert.Equal($"{{\"kind\":\"chunk.replicated\",\"data\":{{\"chunkId\":\"{Chunk}\",\"target\":\"n3\"," +
            "\"kind\":\"chunk.replicated\"}}", line);
        var e = RealEventStreams.Parse("n1", "chunk.replicated", line, 7);
        Assert.NotNull(e);
        Assert.Equal(("n1", "chunk.replicated", 7L, Chunk, "n3"), (e.Node, e.Kind, e.At, e.Field("ChunkId"),
            e.Field("Target")));

        var ack = WriteAck.Of(RealEventStreams.Parse("n1", "write.ack",
            Line(new WriteAcknowledged("d/a, b", Version.ToString(), "All", 2, 10)), 0)!);
        Assert.Equal(new WriteAck("d/a, b", Version, "All", 2), ack);
        Assert.True(RealEventStreams.Parse("n1", "scrub.found",
            Line(new ScrubFound(Chunk, "Corrupt", true)), 0)!.Field("Repaired") == "True");

        // Bad input is no event: not JSON, a kind that differs from the stream's, no data object.
        Assert.Null(RealEventStreams.Parse("n1", "write.ack", "{", 0));
        Assert.Null(RealEventStreams.Parse("n1", "write.ack", line, 0));
        Assert.Null(RealEventStreams.Parse("n1", "chunk.replicated", "{\"kind\":\"chunk.replicated\"}", 0));
    }

    [Fact]
    public async Task An_acknowledgement_holds_on_three_copies_and_bites_when_a_promised_copy_is_missing()
    {
        using var run = new Harness();
        run.RecordVersionEverywhere();
        run.Node("n1").Hold(Chunk);
        run.Node("n2").Hold(Chunk);
        run.Node("n3").Hold(Chunk);
        await run.FeedAsync("n1", 1_000_000, Alive("n2"), Alive("n3"), Ack());
        Assert.Empty(run.Violations);
        Assert.Equal(1, run.Checkers.AcksChecked);

        // The third copy gone (behind the protocol's back), the next acknowledgement of the version bites.
        run.Node("n3").Lose(Chunk);
        await run.FeedAsync("n1", 2_000_000, Ack());
        var (name, detail) = Assert.Single(run.Violations);
        Assert.Equal(InvariantCatalog.CopiesDurableAtAck, name);
        Assert.Contains($"n1 acknowledged docs/a {Version} (all: 3 durable intact copies", detail,
            StringComparison.Ordinal);
        Assert.Contains($"{Chunk[..12]} on [n1,n2]", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_orphan_collection_that_leaves_an_acknowledged_write_short_bites()
    {
        using var run = new Harness();
        run.RecordVersionEverywhere();
        foreach (var node in run.Nodes)
        {
            node.Hold(Chunk);
        }

        await run.FeedAsync("n1", 1_000_000, Alive("n2"), Alive("n3"), Ack());
        await run.FeedAsync("n2", 2_000_000, Line(new ChunkOrphanCollected(new string('d', 64))));
        Assert.Empty(run.Violations);

        run.Node("n2").Lose(Chunk);
        await run.FeedAsync("n2", 3_000_000, Line(new ChunkOrphanCollected(Chunk)));
        var (name, detail) = Assert.Single(run.Violations);
        Assert.Equal(InvariantCatalog.OrphansKeepAckedCopies, name);
        Assert.StartsWith($"n2 deleted its copy of {Chunk[..12]} as an orphan; since then: n1 acknowledged docs/a",
            detail, StringComparison.Ordinal);
        Assert.Equal(2, run.Checkers.OrphansCollected);
    }

    [Fact]
    public async Task Scrub_condemning_an_unhit_copy_and_a_recorded_copy_without_its_file_bite()
    {
        using var run = new Harness();
        run.Cluster.KnownCorrupt.Add(("n2", Chunk)); // The driver's own corruption: scrub is right to condemn it.
        await run.FeedAsync("n2", 1_000_000, Line(new ScrubFound(Chunk, "Corrupt", false)));
        Assert.Empty(run.Violations);
        await run.FeedAsync("n3", 2_000_000, Line(new ScrubFound(Chunk, "Corrupt", false)));
        var (name, detail) = Assert.Single(run.Violations);
        Assert.Equal(InvariantCatalog.NoIntactCopyCondemned, name);
        Assert.StartsWith($"n3's scrub condemned its copy of {Chunk[..12]} as corrupt, but no fault", detail,
            StringComparison.Ordinal);

        // n1 confirms a copy on n3 whose index records it: holds with the file there, bites without.
        run.Node("n3").Index(Chunk);
        run.Node("n3").Hold(Chunk);
        await run.FeedAsync("n1", 3_000_000, Line(new ChunkReplicated(Chunk, "n3")));
        Assert.Single(run.Violations);
        run.Node("n3").Lose(Chunk);
        await run.FeedAsync("n1", 4_000_000, Line(new ChunkReplicated(Chunk, "n3")));
        Assert.Equal(2, run.Violations.Count);
        Assert.Equal((InvariantCatalog.ReplicasDurableAndVerified,
            $"n3:{Chunk[..12]} recorded, but its file is missing, not durable or does not match"), run.Violations[1]);
    }

    /// <summary>
    /// no_garbage_churn on the events a real node publishes: a chunk collected on one node a second time bites when
    /// the collection before it came more than a gc grace + interval (6 + 4 s here) + the run's clock moves after
    /// any node last recorded a version of a file listing it (it came back as garbage nothing kept), unless a hinted
    /// copy's hand-over brought it back; other nodes and orphan collections are apart.
    /// </summary>
    [Fact]
    public async Task Garbage_collected_again_on_a_node_bites_unless_a_version_listing_it_was_recorded_lately()
    {
        using var run = new Harness();
        var collected = Line(new ChunkCollected(Chunk));
        await run.FeedAsync("n2", 10_000_000, collected);
        await run.FeedAsync("n3", 11_000_000, collected);
        Assert.Empty(run.Violations);

        // No version ever listed it (an upload that never got a manifest): back once is churn.
        await run.FeedAsync("n2", 30_000_000, collected);
        var (name, detail) = Assert.Single(run.Violations);
        Assert.Equal(InvariantCatalog.NoGarbageChurn, name);
        Assert.Equal($"n2 collected garbage {Chunk[..12]} again at 30s (2 times there, the one before at 10s): it " +
            "came back after 10s, not as a hinted copy's hand-over, when nothing could keep it any more (no file " +
            "version ever listed it, more than a gc grace + interval (10s) + clock moves (0s) before)", detail);

        // A hinted copy's hand-over (n3 holds the chunk for its owners) brought it back: its next collection is no
        // churn (a holder cannot tell garbage from a copy whose manifest never reached it). An owner's delivery
        // (n1's copy is an owner's) is.
        run.Node("n3").Index(Chunk, "hinted");
        run.Node("n1").Index(Chunk);
        run.Node("n2").Hold(Chunk);
        run.Node("n2").Index(Chunk);
        await run.FeedAsync("n3", 35_000_000, Line(new ChunkReplicated(Chunk, "n2")));
        await run.FeedAsync("n2", 40_000_000, collected);
        Assert.Single(run.Violations);
        await run.FeedAsync("n1", 45_000_000, Line(new ChunkReplicated(Chunk, "n2")));
        await run.FeedAsync("n2", 50_000_000, collected);
        Assert.Equal(2, run.Violations.Count);

        // docs/a's version lists it, recorded at 60 s: a node may keep it until 70 s; a collection after one that
        // came after that bites.
        run.RecordVersionEverywhere();
        await run.FeedAsync("n1", 60_000_000, Line(new ManifestApplied("docs/a", Version.ToString(), false, true)));
        foreach (var at in new[] { 65, 70, 75 })
        {
            await run.FeedAsync("n2", at * 1_000_000L, collected);
        }

        Assert.Equal(2, run.Violations.Count);
        await run.FeedAsync("n2", 80_000_000, collected);
        Assert.Equal(3, run.Violations.Count);
        Assert.Contains("(8 times there, the one before at 75s): it came back after 75s, not as a hinted copy's " +
            "hand-over, when nothing could keep it any more (versions of [docs/a] listing it were last recorded at " +
            "60s", run.Violations[2].Detail, StringComparison.Ordinal);

        // A later version of the path (a tombstone, listing nothing) superseded it on n3 at 90 s: kept until then.
        var later = new VersionToken(Version.WallMicroseconds + 1, 0, new NodeId("n3"));
        await run.FeedAsync("n3", 90_000_000, Line(new ManifestApplied("docs/a", later.ToString(), true, true)));
        await run.FeedAsync("n2", 95_000_000, collected);
        Assert.Equal(3, run.Violations.Count);

        // A clock set back 30 s keeps history that much longer: the window widens by every clock move (without it,
        // the collection at 130 s, the one at 125 s being more than 10 s after docs/a was last recorded, would bite).
        run.Checkers.OnClockChange("n1", -30_000_000, null);
        foreach (var at in new[] { 120, 125, 130, 200 })
        {
            await run.FeedAsync("n2", at * 1_000_000L, collected);
        }

        Assert.Equal(3, run.Violations.Count);
        await run.FeedAsync("n2", 210_000_000, collected);
        Assert.Equal(4, run.Violations.Count);
        Assert.Contains("+ clock moves (30s) before)", run.Violations[3].Detail, StringComparison.Ordinal);

        // Orphan collections are the orphan collector's (orphans_keep_acked_copies): they start no count.
        await run.FeedAsync("n1", 230_000_000, Line(new ChunkOrphanCollected(Chunk)));
        await run.FeedAsync("n1", 300_000_000, Line(new ChunkOrphanCollected(Chunk)), collected);
        Assert.Equal(4, run.Violations.Count);
        Assert.Equal(16, run.Checkers.GarbageCollections);
    }

    [Fact]
    public async Task Deaths_and_suspicions_are_judged_against_the_driver_record_with_its_tolerance()
    {
        using var run = new Harness(swim: true);
        run.Ready(0);
        await run.FeedAsync("n1", 1_000_000, Alive("n2"), Alive("n3"));

        // All ran, no cut: n1 suspecting n2 had relay n3 the whole probe, and declaring it dead was false.
        await run.FeedAsync("n1", 20_000_000, Line(new MemberSuspectEvent("n2", 0, "n1")));
        await run.FeedAsync("n1", 25_000_000, Line(new MemberDeadEvent("n2", 0, "n1")));
        Assert.Equal(2, run.Violations.Count);
        Assert.Equal(InvariantCatalog.NoFalseSuspicion, run.Violations[0].Name);
        Assert.StartsWith("n1 suspected n2 at 20s although both ran and relay(s) [n3]", run.Violations[0].Detail,
            StringComparison.Ordinal);
        Assert.Equal(InvariantCatalog.NoFalseDead, run.Violations[1].Name);
        Assert.StartsWith("n1 declared n2 dead at 25s although both ran", run.Violations[1].Detail,
            StringComparison.Ordinal);

        // The driver paused n3 and later killed and restarted n2: those windows are excused, as is a death whose
        // suspicion began within the tolerance after n2 was seen ready again (the route, the join: slop).
        run.Change(HostChange.NodePaused, "n3", 30_000_000);
        await run.FeedAsync("n1", 31_000_000, Line(new MemberSuspectEvent("n3", 0, "n1")));
        await run.FeedAsync("n1", 36_000_000, Line(new MemberDeadEvent("n3", 0, "n1")));
        run.Change(HostChange.NodeCrashed, "n2", 40_000_000);
        run.Change(HostChange.NodeStarted, "n2", 60_000_000);
        await run.FeedAsync("n1", 61_500_000, Line(new MemberSuspectEvent("n2", 1, "n1")));
        await run.FeedAsync("n1", 66_000_000, Line(new MemberDeadEvent("n2", 1, "n1")));
        Assert.True(run.Violations.Count == 2, string.Join("\n", run.Violations));
        Assert.Equal(3, run.Checkers.FalseDead.Judged);
    }

    [Fact]
    public async Task A_gap_in_the_stream_ids_or_an_unreadable_event_makes_the_checks_incomplete()
    {
        using var run = new Harness();
        await run.FeedAsync("n1", 1_000_000, Alive("n2"), Alive("n3"));
        Assert.Null(run.Streams.Incomplete());

        // Ids 1, 2, 5: the node dropped two events for a slow reader; then an event that is not JSON.
        var text = "id: 1\nevent: member.alive\ndata: " + Alive("n2") + "\n\nid: 2\nevent: member.alive\ndata: " +
            Alive("n3") + "\n\nid: 5\nevent: member.alive\ndata: " + Alive("n2") + "\n\nid: 6\nevent: write.ack\n" +
            "data: {\n\n";
        await run.Streams.ReadEventsAsync(run.Process("n1"), new MemoryStream(Encoding.UTF8.GetBytes(text)),
            CancellationToken.None);
        Assert.Equal("n1: 2 event(s) dropped by the node for a slow reader, 0 stream(s) cut while it ran, " +
            "1 unreadable", run.Streams.Incomplete());
    }

    [Fact]
    public void A_fault_of_the_driver_near_an_event_excuses_what_its_check_reads()
    {
        // The faults recorded by the time the check runs.
        List<(long At, string What)> faults = [(10_000_000, "kill or stop of n2")];
        Assert.Equal("kill or stop of n2", RealScenarioRun.DriverFaultNear(faults, 10_500_000));
        Assert.Equal("kill or stop of n2", RealScenarioRun.DriverFaultNear(faults, 11_000_000)); // The tolerance.
        Assert.Null(RealScenarioRun.DriverFaultNear(faults, 11_000_001));
        // A fault after the event arrived and before its check ran (the reader was behind) excuses it too.
        faults.Add((20_000_000, "disk step on n3"));
        Assert.Equal("disk step on n3", RealScenarioRun.DriverFaultNear(faults, 15_000_000));
        Assert.Null(RealScenarioRun.DriverFaultNear([], 15_000_000));
    }

    private static string Alive(string member) => Line(new MemberAliveEvent(member, 0, "none"));

    private static string Ack() => Line(new WriteAcknowledged("docs/a", Version.ToString(), "All", 1, 100));

    /// <summary>The JSON the node's Gateway writes after <c>data: </c> for <paramref name="e"/>.</summary>
    private static string Line(KeplerEvent e) => JsonSerializer.Serialize(new { kind = e.Kind, data = (object)e },
        new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase });

    /// <summary>Three nodes, the event checkers for every event-judged invariant and a reader per node.</summary>
    private sealed class Harness : IDisposable
    {
        private readonly SortedDictionary<string, RealNode> _processes = new(StringComparer.Ordinal);
        private long _now;

        public Harness(bool swim = false)
        {
            Nodes = [new StreamNode("n1"), new StreamNode("n2"), new StreamNode("n3")];
            var options = new KeplerOptions
            {
                ReplicationFactor = 3, Swim = swim ? new SwimOptions() : null,
                GcGraceMicroseconds = 6_000_000, GcIntervalMicroseconds = 4_000_000,
            };
            Cluster = new CheckedCluster(() => Nodes, () => _now, options, new FileLedger());
            Truth = new RealReachability(new SwimOptions().AwarenessMaxMultiplier);
            var declared = new SortedSet<string>(StringComparer.Ordinal)
            {
                InvariantCatalog.CopiesDurableAtAck, InvariantCatalog.OrphansKeepAckedCopies,
                InvariantCatalog.NoIntactCopyCondemned, InvariantCatalog.ReplicasDurableAndVerified,
                InvariantCatalog.NoFalseDead, InvariantCatalog.NoFalseSuspicion, InvariantCatalog.NoGarbageChurn,
            };
            Checkers = new EventCheckers(Cluster, Truth, declared, (n, d) => Violations.Add((n, d)),
                Truth.ProberViewOf, RealScenarioRun.EventToleranceMicroseconds);
            // Delivered as real mode delivers them: the prober's view noted, then the checks.
            Streams = new RealEventStreams(() => _now, (_, e) =>
            {
                if (MemberEventRecord.Of(e) is { } member)
                {
                    Truth.Note(member);
                }

                Checkers.OnEvent(e);
                return Task.CompletedTask;
            }, (_, _) => Task.CompletedTask);
            foreach (var node in Nodes)
            {
                _processes[node.Name] = new RealNode(new RealNodeSpec(node.Name, "127.0.0.1", 1, 2, 3,
                    Path.Combine(Path.GetTempPath(), "never-started", node.Name), null), "kepler-node", []);
                Streams.Track(_processes[node.Name]);
            }
        }

        public List<StreamNode> Nodes { get; }

        public CheckedCluster Cluster { get; }

        public RealReachability Truth { get; }

        public EventCheckers Checkers { get; }

        public RealEventStreams Streams { get; }

        public List<(string Name, string Detail)> Violations { get; } = [];

        public StreamNode Node(string name) => Nodes.Single(n => n.Name == name);

        public RealNode Process(string name) => _processes[name];

        /// <summary>Every node answered /ready at <paramref name="at"/>.</summary>
        public void Ready(long at)
        {
            foreach (var node in Nodes)
            {
                Change(HostChange.NodeStarted, node.Name, at);
            }
        }

        /// <summary>What the driver does and reports: the node's state, then the change to the judges.</summary>
        public void Change(HostChange change, string name, long at)
        {
            _now = at;
            var node = Node(name);
            node.Running = change is HostChange.NodeStarted or HostChange.NodeResumed;
            if (change == HostChange.NodeStarted)
            {
                Truth.Ready(name);
            }
            else if (change == HostChange.NodeCrashed)
            {
                Truth.Down(name);
            }

            Checkers.OnCompletedChange(change, name, at);
        }

        /// <summary>One subscription to <paramref name="node"/>'s stream delivering <paramref name="data"/> (each
        /// an event's JSON) at <paramref name="at"/>, numbered from 1 as the node numbers them.</summary>
        public Task FeedAsync(string node, long at, params string[] data)
        {
            _now = at;
            var text = new StringBuilder(": connected\n\n");
            for (var i = 0; i < data.Length; i++)
            {
                var kind = JsonDocument.Parse(data[i]).RootElement.GetProperty("kind").GetString();
                text.Append(CultureInfo.InvariantCulture, $"id: {i + 1}\nevent: {kind}\ndata: {data[i]}\n\n");
            }

            return Streams.ReadEventsAsync(_processes[node], new MemoryStream(Encoding.UTF8.GetBytes(text.ToString())),
                CancellationToken.None);
        }

        /// <summary>Records <see cref="Version"/> of docs/a (one chunk) as the winner on every node.</summary>
        public void RecordVersionEverywhere()
        {
            foreach (var node in Nodes)
            {
                node.Database.Execute("INSERT INTO files(id, path, size, chunk_ids, chunk_size, content_id, " +
                    "version_wall_us, version_logical, version_node, origin_node, tombstone, is_winner, created_at) " +
                    $"VALUES ('f1', 'docs/a', 100, '{Chunk}', 100, 'x', {Version.WallMicroseconds}, 0, 'n1', 'n1', " +
                    "0, 1, 0)");
                node.Database.Execute($"INSERT INTO chunk_refs(file_id, idx, chunk_id) VALUES ('f1', 0, '{Chunk}')");
            }
        }

        public void Dispose()
        {
            foreach (var node in Nodes)
            {
                node.Dispose();
            }
        }
    }

    /// <summary>A node that is not simulated: an in-memory KeplerFS database and a set of intact chunk files.
    /// </summary>
    private sealed class StreamNode : ICheckedNode, IDisposable
    {
        private readonly SortedSet<string> _held = new(StringComparer.Ordinal);
        private readonly MetadataStore _store;

        public StreamNode(string name)
        {
            Name = name;
            _store = Database.OpenStore(); // Creates the schema.
        }

        public MemoryDatabase Database { get; } = new();

        public string Name { get; }

        public bool Started => true;

        public int Epoch => 1;

        public bool Running { get; set; } = true;

        public string State => Running ? "Running" : "Down";

        public long WallMicroseconds => 0;

        public void Hold(string id) => _held.Add(id);

        public void Lose(string id) => _held.Remove(id);

        public void Index(string id, string state = "durable") => Database.Execute(
            $"INSERT INTO chunks(id, size, path, state, created_at) VALUES ('{id}', 100, 'p', '{state}', 0)");

        public IReadOnlyList<ChunkFile> ChunkFiles() =>
            [.. _held.Select(id => new ChunkFile(Core.Storage.ChunkStore.PathOf(id), id, true))];

        public bool TryQuery<T>(Func<SqliteConnection, T> query, [MaybeNullWhen(false)] out T result)
        {
            using var connection = Database.Open();
            result = query(connection);
            return true;
        }

        public bool HoldsDurableIntact(string id) => _held.Contains(id);

        public bool HoldsChunkFile(string id) => _held.Contains(id);

        public bool KnownDurableIntact(string id) => false;

        public void Dispose()
        {
            _store.Dispose();
            Database.Dispose();
        }
    }
}
