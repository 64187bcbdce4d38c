using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Transfer.CraftedExchange;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// The repair scan's batched offer (<see cref="OfferChunksRequest"/>, docs/PROTOCOL.md, "Batched repair offers"),
/// crafted on a raw connection from n1 to n2 (as <see cref="TransferServerStoreTests"/>): each chunk is answered as a
/// store without a request id is before any bytes move (held on record with its file, held once verified, lacking
/// when absent, gone, corrupt), with the same effects for a held one (recorded, claims of writes ended); a page
/// that breaks the protocol is refused, counted, and changes nothing.
/// </summary>
[Trait("Category", "Fast")]
public sealed class OfferChunksTests
{
    private const int C = KeplerCluster.ChunkSize;

    private static readonly KeplerOptions Scrubbing = CraftedExchange.Quiet with { ScrubChunksPerSecond = 1 };

    private static readonly KeplerOptions NotScrubbing = CraftedExchange.Quiet with { ScrubChunksPerSecond = 0 };

    [Fact]
    public void A_page_is_answered_with_the_positions_of_the_chunks_the_owner_lacks_without_reading_the_others()
    {
        using var cluster = Create(seed: 81, Scrubbing);
        var chunks = Enumerable.Range(0, 6).Select(i => KeplerCluster.Bytes(C, 100 + i))
            .OrderBy(d => ChunkStore.IdOf(d), StringComparer.Ordinal).ToList();
        var ids = chunks.Select(d => ChunkStore.IdOf(d)).ToList();
        foreach (var i in new[] { 0, 2, 3, 5 })
        {
            Assert.True(Store(cluster, ids[i], chunks[i]).Durable);
        }

        // On record, but its file is gone: a store would ask for the bytes, so the page must say "lacking".
        DeleteFile(cluster, ids[3]);
        var read = cluster.Nodes[1].Disk.BytesRead;
        var (reply, next) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(Offer(ids));
            var reply = await connection.ReceiveAsync<OfferChunksReply>();
            await connection.SendAsync(new GetManifestRequest("f"));
            return (reply, await connection.ReceiveAsync<GetManifestReply>());
        });
        Assert.Equal([1, 3, 4], reply.Lacking);
        // Scrub runs, so chunks on record are confirmed from the index with their file's size, not read.
        Assert.Equal(read, cluster.Nodes[1].Disk.BytesRead);
        Assert.Null(next.Manifest); // An answer, not a broken exchange: the connection serves on.
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
    }

    [Fact]
    public void A_page_the_owner_holds_whole_is_answered_with_no_position_and_one_it_holds_none_of_with_all()
    {
        using var cluster = Create(seed: 82, Scrubbing);
        var held = Enumerable.Range(0, 4).Select(i => KeplerCluster.Bytes(C, 200 + i)).ToList();
        foreach (var data in held)
        {
            Assert.True(Store(cluster, ChunkStore.IdOf(data), data).Durable);
        }

        var absent = Enumerable.Range(0, 3).Select(i => ChunkStore.IdOf(KeplerCluster.Bytes(C, 300 + i)))
            .Order(StringComparer.Ordinal).ToList();
        var ids = held.Select(d => ChunkStore.IdOf(d)).Order(StringComparer.Ordinal).ToList();
        Assert.Empty(Ask(cluster, Offer(ids)).Lacking);
        Assert.Equal([0, 1, 2], Ask(cluster, Offer(absent)).Lacking);
        // Lacking chunks are only named: nothing is recorded for them on the owner.
        Assert.All(absent, id => Assert.Null(cluster.Kepler(1).Meta.GetChunk(id)));
    }

    [Fact]
    public void With_scrub_off_a_corrupt_copy_is_lacking_and_a_good_file_without_a_record_is_held_and_recorded()
    {
        using var cluster = Create(seed: 83, NotScrubbing);
        var rotten = KeplerCluster.Bytes(C, 400);
        Assert.True(Store(cluster, ChunkStore.IdOf(rotten), rotten).Durable);
        Assert.True(cluster.Nodes[1].Disk.Corrupt(ChunkStore.PathOf(ChunkStore.IdOf(rotten))));
        var loose = KeplerCluster.Bytes(C, 401);
        WriteUnrecorded(cluster, loose);
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(ChunkStore.IdOf(loose)));

        var ids = new[] { ChunkStore.IdOf(rotten), ChunkStore.IdOf(loose) }.Order(StringComparer.Ordinal).ToList();
        var reply = Ask(cluster, Offer(ids));
        // With scrub off offers verify bytes: the rotten copy is what the sender must replace.
        Assert.Equal([ids.IndexOf(ChunkStore.IdOf(rotten))], reply.Lacking);
        // The verified file is promised as a copy: it must be on record, as a store answered "durable" records it.
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(ChunkStore.IdOf(loose)) is not null,
            SimHarness.Second), "the confirmed copy to be on record");
    }

    [Fact]
    public void With_scrub_on_an_unverified_file_without_a_record_is_verified_before_it_is_held()
    {
        using var cluster = Create(seed: 84, Scrubbing);
        var good = KeplerCluster.Bytes(C, 500);
        var bad = KeplerCluster.Bytes(C, 501);
        WriteUnrecorded(cluster, good);
        WriteUnrecorded(cluster, bad);
        Assert.True(cluster.Nodes[1].Disk.Corrupt(ChunkStore.PathOf(ChunkStore.IdOf(bad))));

        var ids = new[] { ChunkStore.IdOf(good), ChunkStore.IdOf(bad) }.Order(StringComparer.Ordinal).ToList();
        Assert.Equal([ids.IndexOf(ChunkStore.IdOf(bad))], Ask(cluster, Offer(ids)).Lacking);
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(ChunkStore.IdOf(good)) is not null,
            SimHarness.Second), "the verified copy to be on record");
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(ChunkStore.IdOf(bad)));
    }

    [Fact]
    public void A_chunk_a_write_brought_and_a_batched_offer_confirmed_is_no_longer_that_writes_to_collect()
    {
        using var cluster = Create(seed: 85, Scrubbing);
        var data = KeplerCluster.Bytes(C, 600);
        var id = ChunkStore.IdOf(data);
        Assert.True(Store(cluster, id, data, "w1").Durable);
        Assert.Equal(1, cluster.Kepler(1).OrphanCandidates);

        // A repair confirmed the copy (as a store without a request id would): who counts it is unknown now.
        Assert.Empty(Ask(cluster, Offer([id])).Lacking);
        Assert.Equal(0, cluster.Kepler(1).OrphanCandidates);
        Assert.True(Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new AbandonChunksRequest("w1", [id]));
            return await connection.ReceiveAsync<AbandonChunksReply>();
        }).Applied);
        cluster.Sim.RunFor(4 * Scrubbing.OrphanGraceMicroseconds);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
    }

    [Fact]
    public void The_cluster_settings_an_offer_carries_are_adopted_and_answered()
    {
        using var cluster = KeplerCluster.Create(2, seed: 86, Scrubbing); // SWIM: settings need a membership.
        var n2 = cluster.Kepler(1).Membership!;
        var newer = new ClusterSettings(1, (n2.Settings?.Version ?? 0) + 1_000, "n1");
        var id = ChunkStore.IdOf(KeplerCluster.Bytes(C, 700));
        var reply = Ask(cluster, new OfferChunksRequest([new ChunkOffer(id, C)], newer));
        Assert.Equal(newer, n2.Settings);
        Assert.Equal(newer, reply.Settings);
    }

    /// <summary>
    /// On a disk slow enough that confirming the whole page would outlast the sender's transfer timeout, the answer
    /// comes after half of it, naming every chunk not yet looked at as lacking (they go through the queue).
    /// </summary>
    [Fact]
    public void A_page_on_a_slow_disk_is_answered_within_half_the_transfer_timeout_with_the_rest_lacking()
    {
        // Each confirmation is a length read and a directory fsync (ten times an operation): about 55 ms here.
        using var cluster = KeplerCluster.Create(2, seed: 88, Scrubbing,
            disk: new DiskFaults { LatencyMinMicroseconds = 4_000, LatencyMaxMicroseconds = 6_000 },
            membership: MembershipMode.Static);
        var chunks = Enumerable.Range(0, 80).Select(i => KeplerCluster.Bytes(C, 1000 + i)).ToList();
        foreach (var data in chunks)
        {
            Assert.True(Store(cluster, ChunkStore.IdOf(data), data).Durable);
        }

        var ids = chunks.Select(d => ChunkStore.IdOf(d)).Order(StringComparer.Ordinal).ToList();
        var asked = cluster.Sim.Now;
        var reply = Ask(cluster, Offer(ids));
        var took = cluster.Sim.Now - asked;
        Assert.InRange(took, 0, Scrubbing.TransferTimeoutMicroseconds * 3 / 4);
        Assert.NotEmpty(reply.Lacking);
        Assert.True(reply.Lacking.Length < ids.Count, "the chunks confirmed before the deadline are held");
        // The chunks looked at first are held; those after the deadline are all lacking.
        var first = reply.Lacking[0];
        Assert.Equal(Enumerable.Range(first, ids.Count - first), reply.Lacking);
    }

    public static TheoryData<string> BadPages() =>
        new(["null", "empty", "oversized", "unsorted", "duplicate", "bad id", "negative size", "huge size"]);

    [Theory]
    [MemberData(nameof(BadPages))]
    public void A_page_that_breaks_the_protocol_is_refused_counted_and_changes_nothing(string what)
    {
        using var cluster = Create(seed: 87, NotScrubbing);
        var loose = KeplerCluster.Bytes(C, 800);
        WriteUnrecorded(cluster, loose); // A good page naming it would record it.
        var ids = Enumerable.Range(0, OfferChunksRequest.ChunksMax + 1)
            .Select(i => ChunkStore.IdOf(KeplerCluster.Bytes(C, 900 + i))).Append(ChunkStore.IdOf(loose))
            .Order(StringComparer.Ordinal).ToList();
        var good = ids.IndexOf(ChunkStore.IdOf(loose));
        ChunkOffer[]? chunks = what switch
        {
            "null" => null,
            "empty" => [],
            "oversized" => ids.Select(id => new ChunkOffer(id, C)).ToArray(),
            "unsorted" => good == 0
                ? [new ChunkOffer(ids[1], C), new ChunkOffer(ids[0], C)]
                : [new ChunkOffer(ids[good], C), new ChunkOffer(ids[0], C)],
            "duplicate" => [new ChunkOffer(ids[good], C), new ChunkOffer(ids[good], C)],
            "bad id" => [new ChunkOffer(ids[good], C), new ChunkOffer("zz" + ids[good][2..], C)],
            "negative size" => [new ChunkOffer(ids[good], -1)],
            _ => [new ChunkOffer(ids[good], ChunkStore.ChunkSizeBytesMax + 1L)],
        };
        var answer = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new OfferChunksRequest(chunks!));
            return await connection.ReceiveAsync();
        });
        Assert.Null(answer); // No answer: the connection is closed.
        Assert.Equal(1, cluster.Kepler(1).Metrics.MalformedFrames);
        cluster.Sim.RunFor(SimHarness.Second);
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(ChunkStore.IdOf(loose)));
    }

    [Fact]
    public void Sizes_at_the_protocols_bounds_are_answered_not_refused()
    {
        // Kills in TransferServer.cs ValidateOffer: "SizeBytes is < 0 or > ChunkSizeBytesMax" as "<= 0" (an empty
        // chunk's offer refused and the connection closed) or ">= ChunkSizeBytesMax" (the largest chunk's).
        using var cluster = Create(seed: 88, NotScrubbing);
        var ids = new[] { 901, 902 }.Select(i => ChunkStore.IdOf(KeplerCluster.Bytes(C, i)))
            .Order(StringComparer.Ordinal).ToList();
        var reply = Ask(cluster, new OfferChunksRequest(
            [new ChunkOffer(ids[0], 0), new ChunkOffer(ids[1], ChunkStore.ChunkSizeBytesMax)]));
        Assert.Equal([0, 1], reply.Lacking);
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
    }

    [Fact]
    public void A_chunk_the_disk_fails_to_confirm_is_answered_lacking_and_not_recorded()
    {
        // Kills in TransferServer.cs ConfirmOfferedAsync: the IOException's "return false" as "true" (a copy the
        // disk could not read confirmed as held: the sender would never send it, and no row would be made for it).
        using var cluster = Create(seed: 89, NotScrubbing);
        var loose = KeplerCluster.Bytes(C, 810);
        WriteUnrecorded(cluster, loose);
        var disk = cluster.Nodes[1].Disk;
        disk.Faults = disk.Faults with { ReadErrorProbability = 1 };
        var reply = Ask(cluster, Offer([ChunkStore.IdOf(loose)]));
        disk.Faults = disk.Faults with { ReadErrorProbability = 0 };
        Assert.Equal([0], reply.Lacking);
        cluster.Sim.RunFor(SimHarness.Second);
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(ChunkStore.IdOf(loose)));
    }

    [Theory]
    [InlineData(new int[0], 3, true)]
    [InlineData(new[] { 0, 2 }, 3, true)]
    [InlineData(new[] { 2, 0 }, 3, false)]
    [InlineData(new[] { 1, 1 }, 3, false)]
    [InlineData(new[] { 3 }, 3, false)]
    [InlineData(new[] { -1 }, 3, false)]
    public void The_sender_accepts_only_ascending_positions_within_its_page(int[] positions, int count, bool valid) =>
        Assert.Equal(valid, TransferClient.IsAscendingWithin(positions, count));

    private static OfferChunksRequest Offer(IReadOnlyList<string> ids) =>
        new([.. ids.Select(id => new ChunkOffer(id, C))]);

    private static OfferChunksReply Ask(KeplerCluster cluster, OfferChunksRequest request) =>
        Exchange(cluster, async connection =>
        {
            await connection.SendAsync(request);
            return await connection.ReceiveAsync<OfferChunksReply>();
        });

    private static void DeleteFile(KeplerCluster cluster, string id)
    {
        cluster.Sim.Await(cluster.Nodes[1].Spawn(runtime => runtime.Disk.DeleteAsync(ChunkStore.PathOf(id))),
            "the file to go");
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
    }

    private static void WriteUnrecorded(KeplerCluster cluster, byte[] data)
    {
        var path = ChunkStore.PathOf(ChunkStore.IdOf(data));
        cluster.Sim.Await(cluster.Nodes[1].Spawn(async runtime =>
        {
            await runtime.Disk.CreateDirectoryAsync(path[..^65]);
            await using var file = await runtime.Disk.CreateAsync(path);
            await file.AppendAsync(data);
            await file.FsyncAsync();
        }), "the unrecorded file");
    }
}
