using KeplerSim.Core.Node;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// The repair scan's pacing and triggers, apart from the cost of its batched offers
/// (<see cref="BatchedRepairScanTests"/>): a node scans as it starts, a scan goes no faster than the configured
/// rate with one scan at a time, a ring change during a scan is scanned for again once that scan ends, and the
/// copies a lowered factor makes surplus go once batched offers confirm their owners. Written for the Stryker
/// survivors of Replication/RepairScanner.cs (docs/mutation/replication-survivors-2026-12-07.tsv): the earlier
/// tests ran with the default one-minute periodic scan or a faster one, which made up for most of them.
/// </summary>
[Trait("Category", "Fast")]
public sealed class RepairScanTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const long Second = SimHarness.Second;

    /// <summary>No periodic scan within a test (an hour), no anti-entropy round, no scrub.</summary>
    private static readonly KeplerOptions NoPeriodicScan = new()
    {
        ChunkSizeBytes = C,
        ReplicationFactor = 2,
        ScrubChunksPerSecond = 0,
        RepairScanIntervalMicroseconds = 3_600 * Second,
        AntiEntropyIntervalMicroseconds = 600 * Second,
    };

    [Fact]
    public void A_restarted_node_scans_as_it_starts_without_waiting_for_the_periodic_scan()
    {
        // Kills RepairScanner.cs:48 (Start's scan request removed): with static members no ring change follows a
        // start, so the copies an owner lost came back only with the periodic scan, an hour later here.
        using var cluster = KeplerCluster.Create(2, seed: 61, NoPeriodicScan, membership: MembershipMode.Static);
        cluster.Put(0, "f", KeplerCluster.Bytes(20 * C, 1), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * Second), "the put's copies");
        var lost = cluster.ChunksOf(0, "f").Distinct().Take(5).ToList();
        BatchedRepairScanTests.Lose(cluster, lost);
        cluster.Sim.RunFor(30 * Second);
        Assert.All(lost, id => Assert.Single(cluster.DurableCopies(id))); // Nothing else brings them back.

        cluster.Nodes[0].Crash();
        cluster.Start(cluster.Nodes[0]);
        Assert.True(cluster.Sim.RunUntil(() => lost.All(id => cluster.DurableCopies(id).Count == 2), 5 * Second),
            "n1's scan as it starts to send n2 the copies it lost");
    }

    [Fact]
    public void A_scan_goes_no_faster_than_the_configured_rate_and_one_scan_runs_at_a_time()
    {
        // Kills RepairScanner.cs:105 (the pause after each page removed: the configured rate was never applied),
        // 59 (a scan requested while one runs started a second one beside it) and 62 (no scan ever counted as
        // running, so every request started another). The periodic scan (every second) is requested while each
        // scan of 300 chunks at 128 a second (pages of 256 and 44: 2.3 s) runs.
        var options = NoPeriodicScan with
        {
            ScrubChunksPerSecond = 1, // Offers are answered from the index.
            RepairScanIntervalMicroseconds = Second,
            RepairScanChunksPerSecond = 128,
        };
        using var cluster = KeplerCluster.Create(2, seed: 62, options, membership: MembershipMode.Static);
        cluster.Put(0, "f", KeplerCluster.Bytes(300 * C, 2), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * Second), "the put's copies");
        var pages = new List<(long At, int Chunks)>();
        using var subscription = cluster.Nodes[0].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is RepairOffered offer)
            {
                pages.Add((cluster.Sim.Now, offer.Offered));
            }
        });
        cluster.Sim.RunFor(10 * Second);

        // n1 offers each page to its one other owner: one event per page. At most the rate's 1,280 chunks in 10 s
        // (and the page offered as the window closes); scans running back to back offer at least half of that.
        Assert.InRange(pages.Sum(p => p.Chunks), 640, 1_280 + 256);
        for (var i = 1; i < pages.Count; i++)
        {
            // Each page is followed by a pause of its size at the rate: the shortest page (44 chunks) by 0.34 s.
            var gap = pages[i].At - pages[i - 1].At;
            Assert.True(gap >= pages[i - 1].Chunks * Second / 128,
                $"page {i} offered {gap} us after a page of {pages[i - 1].Chunks} chunks");
        }
    }

    [Fact]
    public void A_factor_raised_again_while_a_scan_runs_reaches_every_new_owner_once_that_scan_ends()
    {
        // Kills RepairScanner.cs:58 (the request made while a scan runs dropped): the chunks scanned before the
        // second change kept the first change's owners and waited for the periodic scan (an hour here) to reach
        // their third owner. Each node holds about 20 chunks, one page, and scans 2 a second: every node is in
        // the pause after that page (10 s) when the second change arrives, and no later page reads the new ring.
        var options = NoPeriodicScan with { ReplicationFactor = 1, RepairScanChunksPerSecond = 2 };
        using var cluster = KeplerCluster.Create(3, seed: 63, options);
        for (var i = 0; i < 12; i++)
        {
            cluster.Put(i % 3, $"f{i}", KeplerCluster.Bytes(5 * C, 100 + i), Durability.All);
        }

        var chunks = Enumerable.Range(0, 12).SelectMany(i => cluster.ChunksOf(i % 3, $"f{i}")).Distinct().ToList();
        SetFactor(cluster, 2);
        SetFactor(cluster, 3);
        Assert.True(cluster.Sim.RunUntil(() => chunks.All(id => cluster.DurableCopies(id).Count == 3), 60 * Second),
            $"every chunk on all three nodes: {chunks.Count(id => cluster.DurableCopies(id).Count < 3)} short");
    }

    [Fact]
    public void A_lowered_factor_drops_each_copy_a_node_no_longer_owns_once_a_batched_offer_confirms_its_owners()
    {
        // Kills in RepairScanner.cs: 123-125 (the chunk's state no longer set from the ring: a copy a node stopped
        // owning stayed durable), 153 ("Hinted: !owned" as "owned"), 189 (the confirmation negated), 191 and 198
        // (the confirmation not kept or not passed on). Every owner already holds every chunk: a copy a node no
        // longer owns becomes surplus when its owners confirm it, through a batched offer, or through a queued
        // single offer where an owner answered a page "lacking" because another node's offer of the same chunk
        // was being checked at that moment (all three nodes scan at once). With this seed some chunks have every
        // confirmation from a batched offer: each mutant above leaves their third copy in place.
        var options = NoPeriodicScan with { ReplicationFactor = 3, SurplusGraceMicroseconds = Second };
        using var cluster = KeplerCluster.Create(3, seed: 64, options);
        cluster.Put(0, "f", KeplerCluster.Bytes(20 * C, 3), Durability.All);
        var chunks = cluster.ChunksOf(0, "f").Distinct().ToList();
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * Second), "the put's copies");
        Assert.All(chunks, id => Assert.Equal(3, cluster.Holders(id).Count));

        SetFactor(cluster, 2);
        Assert.True(cluster.Sim.RunUntil(() => chunks.All(id => cluster.Holders(id).Count == 2), 10 * Second),
            $"each chunk on its two owners only: {string.Join(", ", chunks.Select(id => cluster.Holders(id).Count))}");
        Assert.All(chunks, id => Assert.Equal(2, cluster.DurableOwnerCopies(id)));
    }

    /// <summary>Sets the factor on n1 (an operator's change) and waits until every node holds it.</summary>
    private static void SetFactor(KeplerCluster cluster, int factor)
    {
        cluster.Sim.Await(cluster.Nodes[0].Spawn(_ => cluster.Kepler(0).SetReplicationFactorAsync(factor)),
            $"the factor set to {factor}");
        Assert.True(cluster.Sim.RunUntil(() => cluster.Nodes.All(n => cluster.Kepler(n).ReplicationFactor == factor),
            10 * Second), $"every node to hold factor {factor}");
    }
}
