using System.IO.Hashing;
using System.Text;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Replication;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// Manifest anti-entropy round by round: one round carries what each side lacks both ways (the reply to the
/// initiator, the initiator's push to the server), and a restarted node rebuilds its digest from the versions it
/// stored, so its idle rounds carry digests only. Written for the open Stryker survivors of
/// Replication/AntiEntropy.cs (docs/TESTING.md "Replication survivors"): convergence alone cannot tell, because a
/// direction one round drops the next round in the other direction makes up, and a node with an empty digest still
/// converges (it only resends everything forever).
/// </summary>
[Trait("Category", "Fast")]
public sealed class AntiEntropyTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void One_round_carries_each_sides_missing_versions_both_ways_bucket_zero_included()
    {
        // Kills in AntiEntropy.cs: the initiator's push ("SendAsync(new SyncPush(...))" removed, the bucket filter
        // "b is >= 0 and < SyncBuckets" negated or as "b is > 0 ...", "Take" as "Skip") and the server's
        // "ApplyAll(push.Manifests)" removed. Each still converged on the server's own next round, so the test
        // asks that the one round that ran brought the server the initiator's versions.
        var options = new KeplerOptions
        {
            ChunkSizeBytes = KeplerCluster.ChunkSize,
            AntiEntropyIntervalMicroseconds = 20 * Second,
        };
        using var cluster = KeplerCluster.Create(2, seed: 93, options, membership: MembershipMode.Static);
        var nodes = new[] { cluster.Kepler(0), cluster.Kepler(1) };
        // Each node alone gets a version in bucket 0 and one in another bucket.
        var zero = PathsInBucket(0).Take(2).ToList();
        var other = PathsInBucket(77).Take(2).ToList();
        var planted = new List<(KeplerNode Node, string Path)>();
        for (var i = 0; i < 2; i++)
        {
            foreach (var path in new[] { zero[i], other[i] })
            {
                nodes[i].ApplyManifest(Version(nodes[i], path, (byte)(planted.Count + 1)));
                planted.Add((nodes[i], path));
            }
        }

        Assert.All(planted, p => Assert.Null(nodes.Single(n => n != p.Node).Meta.GetWinner(p.Path)));
        Assert.True(cluster.Sim.RunUntil(() => nodes.Sum(n => n.SyncRounds) >= 1, 60 * Second), "the first round");
        var initiator = nodes.Single(n => n.SyncRounds == 1);
        var server = nodes.Single(n => n != initiator);
        var initiatorPaths = planted.Where(p => p.Node == initiator).Select(p => p.Path).ToList();
        var serverPaths = planted.Where(p => p.Node == server).Select(p => p.Path).ToList();
        Assert.All(serverPaths, p => Assert.NotNull(initiator.Meta.GetWinner(p))); // The reply, before the round ended.

        // The push arrives a network delay later; the server's own first round comes seconds later (it is drawn
        // from [10 s, 30 s] like the initiator's), so only the push can have brought these within half a second.
        Assert.True(cluster.Sim.RunUntil(() => initiatorPaths.All(p => server.Meta.GetWinner(p) is not null),
            Second / 2), $"the initiator's versions {string.Join(", ", initiatorPaths)} to reach the server (push)");
        Assert.Equal(0, server.SyncRounds);
    }

    [Fact]
    public void A_restarted_node_rebuilds_its_digest_so_its_idle_rounds_carry_no_manifests()
    {
        // Kills in AntiEntropy.cs: "TrackVersion(row.Path, row.Id)" removed from Start's rebuild (and the loop's
        // paging): a restarted node's digest was empty, so every round with it resent up to 16 buckets of
        // manifests, forever, since versions it already holds are not tracked again when they arrive.
        var options = new KeplerOptions
        {
            ChunkSizeBytes = KeplerCluster.ChunkSize,
            AntiEntropyIntervalMicroseconds = Second,
        };
        using var cluster = KeplerCluster.Create(3, seed: 94, options, membership: MembershipMode.Static);
        for (var i = 0; i < 40; i++)
        {
            cluster.Put(i % 3, $"d/f{i}", KeplerCluster.Bytes(16 * KeplerCluster.ChunkSize, i), Durability.All);
        }

        var restarted = cluster.Nodes[2];
        restarted.Crash();
        cluster.Start(restarted);
        cluster.Sim.RunFor(5 * Second); // Rounds have run with the restarted node; nothing is left to exchange.
        Assert.Equal(0, cluster.TotalQueueDepth());

        var before = PairBytes(cluster);
        var rounds = cluster.Kepler(restarted).SyncRounds;
        cluster.Sim.RunFor(20 * Second);
        var after = PairBytes(cluster);
        Assert.True(cluster.Kepler(restarted).SyncRounds >= rounds + 10, "the restarted node keeps syncing");
        var withRestarted = after[(0, 2)] - before[(0, 2)] + after[(1, 2)] - before[(1, 2)];
        var withoutIt = after[(0, 1)] - before[(0, 1)];
        // About twice the rounds involve the restarted node (its own and half of each peer's); digests only,
        // each pair's bytes per round are alike.
        Assert.True(withRestarted < 3 * withoutIt,
            $"{withRestarted} bytes of sync with the restarted node in 20 s, {withoutIt} between the others");
    }

    [Fact]
    public void Rounds_between_nodes_that_hold_the_same_versions_exchange_only_the_summary()
    {
        // Issue 14: every round sent the full digest (256 bucket hashes, about 2.3 KB) even when both sides held the
        // same versions, the steady state; at 200 nodes that was a round per node every 5 s. A round now opens with
        // the digest's 8-byte summary and ends at once when it matches.
        var options = new KeplerOptions
        {
            ChunkSizeBytes = KeplerCluster.ChunkSize,
            AntiEntropyIntervalMicroseconds = Second,
        };
        using var cluster = KeplerCluster.Create(2, seed: 95, options, membership: MembershipMode.Static);
        var nodes = new[] { cluster.Kepler(0), cluster.Kepler(1) };
        for (var i = 0; i < 20; i++)
        {
            cluster.Put(i % 2, $"s/f{i}", KeplerCluster.Bytes(1_000, i), Durability.All);
        }

        cluster.Sim.RunFor(5 * Second);
        long Bytes() => nodes.Sum(n => n.Metrics.StreamTraffic.BytesSent(StreamTrafficKind.AntiEntropy));
        long Rounds() => nodes.Sum(n => n.SyncRounds);
        var (bytes, rounds) = (Bytes(), Rounds());
        cluster.Sim.RunFor(30 * Second);

        var perRound = (double)(Bytes() - bytes) / (Rounds() - rounds);
        Assert.True(Rounds() - rounds >= 30, $"{Rounds() - rounds} rounds in 30 s");
        Assert.True(perRound < 40, $"{perRound:F0} plain bytes per round between nodes in sync");
    }

    /// <summary>Stream bytes both ways per pair of node indexes (lower index first).</summary>
    private static Dictionary<(int, int), long> PairBytes(KeplerCluster cluster)
    {
        var pairs = new Dictionary<(int, int), long> { [(0, 1)] = 0, [(0, 2)] = 0, [(1, 2)] = 0 };
        foreach (var ((from, to), bytes) in cluster.Sim.Network.StreamBytes)
        {
            var key = (Math.Min(from, to), Math.Max(from, to));
            if (pairs.ContainsKey(key))
            {
                pairs[key] += bytes;
            }
        }

        return pairs;
    }

    /// <summary>Paths whose anti-entropy bucket is <paramref name="bucket"/> (as AntiEntropy computes it).</summary>
    private static IEnumerable<string> PathsInBucket(int bucket) => Enumerable.Range(0, int.MaxValue)
        .Select(i => $"b/{i}")
        .Where(p => (int)(XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(p)) % AntiEntropy.SyncBuckets) == bucket);

    /// <summary>A one-chunk version of <paramref name="path"/> by <paramref name="node"/>; <paramref name="fill"/>
    /// makes its bytes and its version token (a row's id) unique.</summary>
    private static Manifest Version(KeplerNode node, string path, byte fill)
    {
        var data = new byte[100];
        Array.Fill(data, fill);
        return Manifest.Create(FilePath.Parse(path), data.Length, [ChunkId.FromContent(data)], 1024,
            new VersionToken(node.Clock.Now().WallMicroseconds, fill, node.Id), node.Id);
    }
}
