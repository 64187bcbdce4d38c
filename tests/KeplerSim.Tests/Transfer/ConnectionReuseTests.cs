using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// Transfer connections are reused per peer (docs/PROTOCOL.md, "Transfer connections"): many requests to one peer
/// share a connection (under the cluster key, one handshake), and a pooled connection the peer closed or reset (idle
/// limit, crash, restart with a new keyring) is replaced by a fresh one for the same request. Static membership
/// keeps SWIM's own stream probes out of the connection counts; anti-entropy and the repair scan are slowed so only
/// the writes under test use the connections.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ConnectionReuseTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const int Chunks = 20;

    private static readonly KeplerOptions Quiet = new()
    {
        ChunkSizeBytes = C,
        ReplicationFactor = 2,
        UploadChunksInFlight = 1,
        AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
        RepairScanIntervalMicroseconds = 3_600 * SimHarness.Second,
        ScrubChunksPerSecond = 0,
    };

    [Fact]
    public void Many_chunks_pushed_to_one_peer_open_one_connection()
    {
        using var cluster = KeplerCluster.Create(2, seed: 5, Quiet, membership: MembershipMode.Static);
        var opened = CountOpened(cluster.Sim, from: "n1", to: "n2");
        var metrics = cluster.Kepler(0).Metrics;

        cluster.Put(0, "f", KeplerCluster.Bytes(Chunks * C, 1), Durability.All);

        // One connection carried the 20 chunk pushes and the manifest: every request but the first reused it.
        Assert.Equal(1, opened());
        Assert.Equal(1, metrics.TransferConnectionsOpened);
        Assert.Equal(Chunks, metrics.TransferConnectionsReused);
        Assert.Equal(0, metrics.TransferConnectionsStale);
        Assert.Equal(1, cluster.Kepler(0).PooledTransferConnections);
        Assert.All(cluster.ChunksOf(0, "f"), id => Assert.Equal(2, cluster.DurableCopies(id).Count));
    }

    [Fact]
    public void A_connection_the_peer_closed_while_idle_is_replaced_and_the_request_succeeds()
    {
        using var cluster = KeplerCluster.Create(2, seed: 6, Quiet, membership: MembershipMode.Static);
        var metrics = cluster.Kepler(0).Metrics;
        // n2's clock runs 2.5 times fast: its served idle limit (90 s of its time) ends after 36 s, while n1's
        // pool still takes the connection for fresh (45 s of n1's time). So n1 reuses a connection n2 closed.
        cluster.Nodes[1].Clock.Set(0, driftPpm: 1_500_000);
        cluster.Put(0, "a", KeplerCluster.Bytes(2 * C, 1), Durability.All);
        Assert.Equal(1, metrics.TransferConnectionsOpened);

        var closed = CountClosed(cluster.Sim, at: "n1", by: "n2");
        var servedEnds = TransferConnectionPool.ServedIdleMicrosecondsMax * 2 / 5; // n1's time
        Assert.True(servedEnds + SimHarness.Second < TransferConnectionPool.IdleMicrosecondsMax,
            "the test needs the served side to close while n1's pool still holds the connection for fresh");
        cluster.Sim.RunFor(servedEnds + SimHarness.Second);
        Assert.Equal(1, closed());
        Assert.Equal(1, cluster.Kepler(0).PooledTransferConnections);

        cluster.Put(0, "b", KeplerCluster.Bytes(2 * C, 2), Durability.All);
        Assert.Equal(1, metrics.TransferConnectionsStale);
        Assert.Equal(2, metrics.TransferConnectionsOpened);
        // The push itself succeeded (sent again at once on the new connection), not a queued retry after it failed.
        Assert.Equal(0, metrics.ReplicationFailures);
        Assert.Equal(KeplerCluster.Bytes(2 * C, 2), cluster.Get(1, "b"));
    }

    [Fact]
    public void A_crashed_peers_pooled_connection_fails_cleanly_and_a_fresh_one_reaches_its_new_incarnation()
    {
        using var cluster = KeplerCluster.Create(2, seed: 7, Quiet, membership: MembershipMode.Static);
        var metrics = cluster.Kepler(0).Metrics;
        cluster.Put(0, "a", KeplerCluster.Bytes(2 * C, 1), Durability.All);
        var epoch = cluster.Nodes[1].Epoch;

        cluster.Nodes[1].Crash();
        cluster.Start(cluster.Nodes[1]);
        Assert.True(cluster.Nodes[1].Epoch > epoch);

        cluster.Put(0, "b", KeplerCluster.Bytes(3 * C, 2), Durability.All);
        Assert.Equal(1, metrics.TransferConnectionsStale);
        Assert.Equal(0, metrics.ReplicationFailures);
        Assert.Equal(2, metrics.TransferConnectionsOpened);
        // The fresh connection is pooled and carries the rest: no third connection. Reused counts every request
        // that took a pooled connection: 2 of the first put's 3, the stale one, and 3 of the second put's 4.
        Assert.Equal(2 + 1 + 3, metrics.TransferConnectionsReused);
        Assert.Equal(KeplerCluster.Bytes(3 * C, 2), cluster.Get(1, "b"));
    }

    [Fact]
    public void A_peer_declared_dead_or_gone_loses_its_pooled_connections()
    {
        using var cluster = KeplerCluster.Create(4, seed: 10, Quiet with { ReplicationFactor = 3 });
        var n1 = cluster.Kepler(0);
        cluster.Put(0, "a", KeplerCluster.Bytes(8 * C, 1), Durability.All);
        var pooled = cluster.Nodes.Skip(1).Where(n => n1.PooledTransferConnectionsTo(new NodeId(n.Name)) > 0)
            .ToList();
        Assert.True(pooled.Count >= 2, "the write pooled connections to at least two peers");

        // A pooled peer crashes and SWIM declares it dead: n1 closes its connections to it at once (rather than
        // find them broken later). Then another leaves, with a connection pooled by a write just before.
        cluster.Kill(pooled[0]);
        Assert.Equal(0, n1.PooledTransferConnectionsTo(new NodeId(pooled[0].Name)));
        cluster.Put(0, "b", KeplerCluster.Bytes(8 * C, 2), Durability.All);
        Assert.True(n1.PooledTransferConnectionsTo(new NodeId(pooled[1].Name)) > 0, "the write pooled one");
        cluster.Leave(pooled[1]);
        Assert.Equal(0, n1.PooledTransferConnectionsTo(new NodeId(pooled[1].Name)));
    }

    [Fact]
    public void Pooled_connections_follow_a_key_rotation_one_node_at_a_time_and_no_write_fails()
    {
        var keys = new SimClusterKeys(seed: 8, enabled: true);
        var rings = new SortedDictionary<string, string[]>(StringComparer.Ordinal) { ["n1"] = ["a"], ["n2"] = ["a"] };
        using var sim = new Simulation(new SimulationOptions { Seed = 8 });
        foreach (var name in rings.Keys)
        {
            sim.AddNode(name, runtime => SimKeplerNode.Create(runtime,
                Quiet with { ClusterKey = keys.Keyring(rings[runtime.Id.Value]) }, MembershipMode.Static,
                rings.Keys));
        }

        var (n1, n2) = (sim.FindNode("n1")!, sim.FindNode("n2")!);
        Restart(sim, n1, n2);
        var writes = 0;
        Put(sim, n1, "f0", KeplerCluster.Bytes(3 * C, writes));

        // Install b everywhere as a secondary, then make it primary everywhere, then drop a: one restart at a time,
        // a write after each. n1's pooled connection to an n2 that restarted was reset: it fails before any reply
        // and the write goes on over a new connection, authenticated under n2's new keyring.
        (string Node, string[] Ring)[] steps =
        [
            ("n2", ["a", "b"]), ("n1", ["a", "b"]), ("n2", ["b", "a"]), ("n1", ["b", "a"]), ("n2", ["b"]),
            ("n1", ["b"]),
        ];
        foreach (var (node, ring) in steps)
        {
            // Each step starts from a quiet cluster with n1's connection to n2 idle in the pool: the last restart's
            // deferred startup verification (chunk hashes, pure work that takes virtual time as on a real node)
            // still runs right after the write returns, and the pool's answer to a restarted peer depends on
            // whether it learnt of the restart before its next exchange (then it drops the connection: no stale one).
            sim.RunFor(SimHarness.Second);
            rings[node] = ring;
            Restart(sim, sim.FindNode(node)!);
            var client = (KeplerNode)n1.Program!;
            var stale = client.Metrics.TransferConnectionsStale;
            Put(sim, n1, "f" + ++writes, KeplerCluster.Bytes(3 * C, writes));
            var expected = stale + (node == "n2" ? 1 : 0);
            Assert.True(expected == client.Metrics.TransferConnectionsStale,
                $"after {node} restarted with [{string.Join(",", ring)}]: " +
                $"{client.Metrics.TransferConnectionsStale - stale} stale connections, not {expected - stale}");
            Assert.Equal(0, client.Metrics.ReplicationFailures);
            Assert.Equal(0, client.Auth.Dropped(AuthDropKind.Frame));
            Assert.Equal(0, ((KeplerNode)n2.Program!).Auth.Dropped(AuthDropKind.Frame));
        }

        Assert.Equal(KeplerCluster.Bytes(3 * C, writes), Get(sim, n2, "f" + writes));
    }

    [Fact]
    public void A_replayed_frame_on_a_reused_connection_closes_it_is_counted_and_the_next_request_gets_a_new_one()
    {
        var keys = new SimClusterKeys(seed: 9, enabled: true);
        using var cluster = KeplerCluster.Create(2, seed: 9, Quiet with { ClusterKey = keys.Keyring(["a"]) },
            membership: MembershipMode.Static);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        var sent = new List<(long Connection, byte[] Frame)>();
        cluster.Sim.Network.StreamTap = (id, from, frame) =>
        {
            if (from == n1)
            {
                sent.Add((id, frame));
            }
        };
        cluster.Put(0, "a", KeplerCluster.Bytes(2 * C, 1), Durability.All);
        cluster.Put(0, "b", KeplerCluster.Bytes(2 * C, 2), Durability.All);
        var connection = Assert.Single(sent.Select(s => s.Connection).Distinct());

        // An on-path attacker replays n1's first request frame (after the handshake's hello and proof) into the
        // reused connection: it fails to open under n2's next counter, is counted, and the connection closes.
        var closed = CountClosed(cluster.Sim, at: "n1", by: "n2");
        Assert.True(cluster.Sim.Network.InjectFrame(connection, n2, sent[2].Frame), "the connection is open");
        cluster.Sim.RunFor(SimHarness.Second);
        Assert.Equal(1, cluster.Kepler(1).Auth.Dropped(AuthDropKind.Frame, AuthDropReason.Forged));
        Assert.Equal(1, closed());

        cluster.Put(0, "c", KeplerCluster.Bytes(2 * C, 3), Durability.All);
        var metrics = cluster.Kepler(0).Metrics;
        Assert.Equal(2, metrics.TransferConnectionsOpened);
        Assert.Equal(1, metrics.TransferConnectionsStale);
        Assert.Equal(0, metrics.ReplicationFailures);
        Assert.Equal(KeplerCluster.Bytes(2 * C, 3), cluster.Get(1, "c"));
    }

    /// <summary>Counts the stream connections <paramref name="from"/> opens to <paramref name="to"/> from now on.</summary>
    private static Func<int> CountOpened(Simulation sim, string from, string to)
    {
        var count = 0;
        sim.Trace.Recorded += r => count += r.Kind == TraceKind.StreamOpened && r.Node == to && r.Detail == from ? 1 : 0;
        return () => count;
    }

    /// <summary>Counts the connections <paramref name="by"/> closes that <paramref name="at"/> sees end.</summary>
    private static Func<int> CountClosed(Simulation sim, string at, string by)
    {
        var count = 0;
        sim.Trace.Recorded += r => count += r.Kind == TraceKind.StreamClosed && r.Node == at && r.Detail == by ? 1 : 0;
        return () => count;
    }

    /// <summary>(Re)starts the nodes and waits until each has recovered.</summary>
    private static void Restart(Simulation sim, params SimNode[] nodes)
    {
        foreach (var node in nodes)
        {
            if (node.State != SimNodeState.Down)
            {
                node.Crash();
            }

            node.Start();
            sim.Await(node.Spawn(_ => ((KeplerNode)node.Program!).Ready), $"{node.Name} to start");
        }
    }

    private static void Put(Simulation sim, SimNode node, string path, byte[] data) =>
        sim.Await(node.Spawn(_ => ((KeplerNode)node.Program!).PutAsync(path, new MemoryStream(data),
            Durability.All)), $"put {path} on {node.Name}");

    private static byte[] Get(Simulation sim, SimNode node, string path) =>
        sim.Await(node.Spawn(async _ =>
        {
            var output = new MemoryStream();
            await ((KeplerNode)node.Program!).GetAsync(path, output);
            return output.ToArray();
        }), $"get {path} on {node.Name}");
}
