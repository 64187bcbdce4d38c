using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// The repair scan offers each page of chunks to each other owner in one exchange (docs/PROTOCOL.md, "Batched repair
/// offers"): a node holding N chunks pays about N / 256 exchanges per owner and scan, not N, and only the chunks an
/// owner lacks go through the replication queue. An exchange that fails (the owner paused past the transfer timeout)
/// queues its page one by one, as every scan did before, so nothing depends on it completing.
/// </summary>
[Trait("Category", "Fast")]
public sealed class BatchedRepairScanTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const int Chunks = 600;
    private const int Scans = 10;

    private static readonly KeplerOptions Options = new()
    {
        ChunkSizeBytes = C,
        ReplicationFactor = 2,
        ScrubChunksPerSecond = 0,
        RepairScanIntervalMicroseconds = SimHarness.Second,
        AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
    };

    private static KeplerCluster Filled(ulong seed)
    {
        var cluster = KeplerCluster.Create(2, seed, Options, membership: MembershipMode.Static);
        cluster.Put(0, "f", KeplerCluster.Bytes(Chunks * C, 1), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * SimHarness.Second),
            "waiting for the put's copies to be delivered");
        cluster.Sim.RunFor(2 * SimHarness.Second);
        return cluster;
    }

    private static long Exchanges(KeplerCluster cluster) => cluster.Nodes.Sum(n =>
        cluster.Kepler(n).Metrics.TransferConnectionsOpened + cluster.Kepler(n).Metrics.TransferConnectionsReused);

    [Fact]
    public void A_scan_costs_one_exchange_per_owner_and_page_not_one_per_chunk()
    {
        using var cluster = Filled(seed: 91);
        var (exchanges, replicated, offers) = (Exchanges(cluster), Replicated(cluster), Offers(cluster));
        cluster.Sim.RunFor(Scans * SimHarness.Second);

        // Both nodes own all 600 chunks (RF 2): each scan is 3 pages of 256, each offered to the one other owner.
        // One by one it was 600 offers per node and scan: 12,000 exchanges in these 10 s.
        var pages = (Chunks + 255) / 256;
        var scanned = Offers(cluster) - offers;
        Assert.InRange(scanned, (Scans - 2) * 2 * pages, (Scans + 1) * 2 * pages);
        Assert.InRange(Exchanges(cluster) - exchanges, scanned, scanned + 20);
        // Every copy was held: nothing was queued or sent.
        Assert.Equal(replicated, Replicated(cluster));
        Assert.Equal(0, cluster.TotalQueueDepth());
        Assert.True(cluster.Nodes.Sum(n => cluster.Kepler(n).Metrics.RepairChunksConfirmed) >= (Scans - 2) * 2 * Chunks,
            "every offered chunk confirmed held");
    }

    [Fact]
    public void Copies_an_owner_lost_are_sent_again_and_only_they()
    {
        using var cluster = Filled(seed: 92);
        var lost = cluster.ChunksOf(0, "f").Distinct().Take(5).ToList();
        var metrics = cluster.Kepler(0).Metrics;
        var (offered, confirmed) = (metrics.RepairChunksOffered, metrics.RepairChunksConfirmed);
        var offers = new List<RepairOffered>();
        using var subscription = cluster.Nodes[0].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is RepairOffered offer)
            {
                offers.Add(offer);
            }
        });
        Lose(cluster, lost);
        var replicated = Replicated(cluster);

        Assert.True(cluster.Sim.RunUntil(() => lost.All(id => cluster.DurableCopies(id).Count == 2),
            5 * SimHarness.Second), "the lost copies to come back");
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 5 * SimHarness.Second),
            "waiting for the queue to drain");
        Assert.Equal(lost.Count, Replicated(cluster) - replicated);
        // The operator's counters agree with the exchanges n1 made: chunks offered, and of them those held. Kills
        // RepairScanner.cs:222 ("+=" as "-=") and 223 (confirmed as offered + lacking): both only differ from the
        // truth once an owner lacks something.
        Assert.All(offers, o => Assert.Null(o.Error));
        Assert.Equal(lost.Count, offers.Sum(o => o.Lacking));
        Assert.Equal(offers.Sum(o => (long)o.Offered), metrics.RepairChunksOffered - offered);
        Assert.Equal(offers.Sum(o => (long)(o.Offered - o.Lacking)), metrics.RepairChunksConfirmed - confirmed);
    }

    /// <summary>
    /// A batched offer carries as many chunks as fit the stream's frame limit (docs/PROTOCOL.md: (max frame − 1024)
    /// / 80, at most a page); a limit too small for one offer means single offers, every pair queued. Either way
    /// the copies an owner lost come back, and no exchange fails.
    /// </summary>
    [Theory]
    [InlineData(1024 + 40 * 80, 40)]
    [InlineData(1024, 0)]
    public void The_frame_limit_sets_how_many_chunks_one_offer_carries(int maxFrameBytes, int perOffer)
    {
        // Kills in RepairScanner.cs: 239 (the slice's start "+=" as "-="), 247 (the offers per exchange with
        // "* OfferBytesMax" or "+ OverheadBytesMax": frames over the limit), 89 ("OffersPerExchange() > 0" as
        // ">= 0", "&&" as "||": batched with room for none) and 141 ("||" as "&&": a live owner offered in a batch
        // when batching is off). 300 chunks in files of 4 (a manifest fits a 1 KiB frame); n2 loses chunks at
        // page positions 60, 130, 200 (later slices of the first page) and 270 (the second page).
        using var cluster = KeplerCluster.Create(2, seed: 95, Options, new NetworkFaults
        {
            MaxFrameBytes = maxFrameBytes,
        }, membership: MembershipMode.Static);
        for (var i = 0; i < 75; i++)
        {
            cluster.Put(i % 2, $"f{i}", KeplerCluster.Bytes(4 * C, 1_000 + i), Durability.All);
        }

        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * SimHarness.Second),
            "waiting for the puts' copies to be delivered");
        var all = cluster.Kepler(0).Meta.ListChunks(null, 1_000).Select(c => c.Id).ToList();
        Assert.Equal(300, all.Count);
        var lost = new[] { 60, 130, 200, 270 }.Select(i => all[i]).ToList();
        var offers = new List<RepairOffered>();
        using var subscription = cluster.Nodes[0].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is RepairOffered offer)
            {
                offers.Add(offer);
            }
        });
        Lose(cluster, lost);

        Assert.True(cluster.Sim.RunUntil(() => lost.All(id => cluster.DurableCopies(id).Count == 2),
            10 * SimHarness.Second), "the lost copies to come back");
        Assert.Equal(0, cluster.Nodes.Sum(n => cluster.Kepler(n).Metrics.RepairOffersFailed));
        Assert.All(offers, o => Assert.InRange(o.Offered, 1, perOffer));
        Assert.Equal(perOffer == 0, offers.Count == 0);
    }

    [Fact]
    public void A_batched_offer_to_a_paused_owner_queues_its_page_and_the_lost_copies_still_come_back()
    {
        using var cluster = Filled(seed: 93);
        var lost = cluster.ChunksOf(0, "f").Distinct().Take(5).ToList();
        Lose(cluster, lost);
        var failed = new List<RepairOffered>();
        using var subscription = cluster.Nodes[0].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is RepairOffered { Error: not null } offer)
            {
                failed.Add(offer);
            }
        });
        cluster.Nodes[1].Pause();
        // n1's next scan asks n2, which does not answer within the transfer timeout (5 s). Which of the pass's
        // three pages (256, 256 and 88 chunks) is in flight then depends on the seed's timing.
        Assert.True(cluster.Sim.RunUntil(() => failed.Count > 0 && cluster.Kepler(0).QueueDepth > 0,
            10 * SimHarness.Second), "a batched offer to fail and its page to be queued");
        Assert.True(cluster.Kepler(0).QueueDepth >= failed[0].Offered,
            $"the failed page of {failed[0].Offered} queued: {cluster.Kepler(0).QueueDepth}");
        Assert.InRange(failed[0].Offered, 88, 256);
        cluster.Nodes[1].Resume();

        Assert.True(cluster.Sim.RunUntil(() => lost.All(id => cluster.DurableCopies(id).Count == 2),
            60 * SimHarness.Second), "the lost copies to come back");
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 60 * SimHarness.Second),
            "waiting for the queue to drain");
    }

    /// <summary>
    /// An owner of the previous version does not know <c>OfferChunksRequest</c> (union key 15): it counts a malformed
    /// frame and closes the connection. The scan queues that page as before and offers the owner its other pages one
    /// by one for the rest of the pass (one refused exchange per pass, never one per page), and the copies it lost
    /// still come back.
    /// </summary>
    [Fact]
    public void An_owner_that_does_not_know_batched_offers_gets_its_pages_one_by_one_and_its_lost_copies_back()
    {
        using var cluster = Filled(seed: 94);
        var lost = cluster.ChunksOf(0, "f").Distinct().Take(5).ToList();
        Lose(cluster, lost);
        var n2 = cluster.Nodes[1];
        var serve = n2.Acceptor!;
        n2.Acceptor = connection => serve(new PreviousVersion(connection));
        cluster.Sim.Network.BreakStreamsOf(n2, "upgrade"); // Connections accepted before are gone.
        var offers = new List<RepairOffered>();
        using var subscription = cluster.Nodes[0].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is RepairOffered offer && offer.Target == "n2")
            {
                offers.Add(offer);
            }
        });

        Assert.True(cluster.Sim.RunUntil(() => lost.All(id => cluster.DurableCopies(id).Count == 2),
            10 * SimHarness.Second), "the lost copies to come back");
        cluster.Sim.RunFor(3 * SimHarness.Second);
        Assert.NotEmpty(offers);
        Assert.All(offers, o => Assert.NotNull(o.Error));
        // Pages are 256, 256 and 88 chunks: only a pass's first page is ever offered to n2 in one exchange.
        Assert.All(offers, o => Assert.Equal(256, o.Offered));
        Assert.True(cluster.Kepler(1).Metrics.MalformedFrames >= offers.Count, "n2 counted the frames it refused");

        // n2 is upgraded: each pass asks it in one exchange per page again (RepairScanner.cs:87, the pass's reset
        // of the owners offered one by one, removed: n2 was offered one by one until n1 restarted).
        n2.Acceptor = serve;
        cluster.Sim.Network.BreakStreamsOf(n2, "upgrade");
        offers.Clear();
        cluster.Sim.RunFor(3 * SimHarness.Second);
        Assert.Contains(offers, o => o is { Error: null, Offered: 256 });
    }

    [Fact]
    public void A_chunk_only_a_superseded_version_inside_its_gc_grace_lists_is_still_repaired_by_its_owners()
    {
        // Kills in RepairScanner.Reconcile: the history horizon "now - GcGraceMicroseconds" as "now + …" (no
        // superseded version counts as keeping its chunks, so an owner stops repairing an old version's chunk
        // while the version is still inside its grace, and its lost copies never come back).
        using var cluster = KeplerCluster.Create(2, seed: 95, Options, membership: MembershipMode.Static);
        cluster.Put(0, "h", KeplerCluster.Bytes(C, 7), Durability.All);
        var old = Assert.Single(cluster.ChunksOf(0, "h"));
        cluster.Put(0, "h", KeplerCluster.Bytes(C, 8), Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => cluster.TotalQueueDepth() == 0, 10 * SimHarness.Second),
            "waiting for the puts' copies to be delivered");
        Assert.DoesNotContain(old, cluster.ChunksOf(0, "h"));
        Lose(cluster, [old]);

        Assert.True(cluster.Sim.RunUntil(() => cluster.DurableCopies(old).Count == 2, 10 * SimHarness.Second),
            "the superseded version's lost copy to come back");
    }

    private static long Replicated(KeplerCluster cluster) =>
        cluster.Nodes.Sum(n => cluster.Kepler(n).Metrics.ChunksReplicated);

    private static long Offers(KeplerCluster cluster) => cluster.Nodes.Sum(n => cluster.Kepler(n).Metrics.RepairOffers);

    /// <summary>n2 loses its copies (row and file) without a ring change: only the periodic scan brings them back.
    /// </summary>
    internal static void Lose(KeplerCluster cluster, IReadOnlyList<string> ids)
    {
        foreach (var id in ids)
        {
            Assert.True(cluster.Sim.Await(cluster.Nodes[1].Spawn(_ => cluster.Kepler(1).DeleteUnneededAsync(id)),
                "n2 to drop its copy"));
            Assert.Null(cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));
        }
    }

    /// <summary>An accepted connection as a node of the previous version decodes it: union key 15 is unknown.</summary>
    private sealed class PreviousVersion(IStreamConnection inner) : IStreamConnection
    {
        public NetAddress Remote => inner.Remote;

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) =>
            inner.SendAsync(frame, cancellationToken);

        public async Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default)
        {
            if (await inner.ReceiveAsync(cancellationToken) is not { } frame)
            {
                return null;
            }

            if (frame.Length < 2 || frame.Span[0] != 0x92 || frame.Span[1] != 15)
            {
                return frame;
            }

            var unknown = frame.ToArray();
            unknown[1] = 0x7F; // A key this version does not know either.
            return unknown;
        }

        public void Dispose() => inner.Dispose();
    }
}
