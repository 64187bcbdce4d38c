using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Node;

using static KeplerSim.Tests.Transfer.CraftedExchange;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// The receiving side of the transfer protocol against a peer that breaks it (docs/PROTOCOL.md): every field of a
/// store or an abandonment is checked at its last legal value and its first illegal one; a request out of bounds,
/// or chunk data that overruns or pads its announced size, is counted as a malformed frame and closes the
/// connection, storing and recording nothing; saturation and a second sender of one chunk are answered "busy".
/// Frames are crafted on a raw connection from n1 to n2 (static members: nothing else talks). Written for the
/// Stryker survivors of TransferServer.cs (docs/TESTING.md, "Write and read path survivors").
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferServerTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const int RequestIdLengthMax = 256;


    public static TheoryData<string, long, string?> BadStores()
    {
        var id = ChunkStore.IdOf(KeplerCluster.Bytes(C, 1));
        return new TheoryData<string, long, string?>
        {
            { "not-a-chunk-id", C, null },
            { id, -1, null },
            { id, ChunkStore.ChunkSizeBytesMax + 1L, null },
            { id, C, "" },
            { id, C, new string('r', RequestIdLengthMax + 1) },
        };
    }

    [Theory]
    [MemberData(nameof(BadStores))]
    public void A_store_request_out_of_bounds_is_counted_and_closes_the_connection(string id, long size,
        string? requestId)
    {
        using var cluster = Create(seed: 31);
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, size, "n1", requestId));
            return await connection.ReceiveAsync();
        });
        Assert.Null(reply); // Closed without an answer.
        Assert.Equal(1, cluster.Kepler(1).Metrics.MalformedFrames);
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(id));
    }

    [Fact]
    public void A_store_request_at_every_limit_is_accepted()
    {
        using var cluster = Create(seed: 32);
        var id = ChunkStore.IdOf(KeplerCluster.Bytes(C, 2));
        var longest = new string('r', RequestIdLengthMax);
        var answers = Exchange(cluster, async connection =>
        {
            // The largest chunk there is, under the longest request id: the server asks for its bytes.
            await connection.SendAsync(new StoreChunkRequest(id, ChunkStore.ChunkSizeBytesMax, "n1", longest));
            var ready = FrameCodec.Decode((await connection.ReceiveAsync())!.Value);
            return (ready, cluster.Kepler(1).Metrics.MalformedFrames);
        });
        Assert.Equal(new StoreChunkReady(id), answers.ready);
        Assert.Equal(0, answers.MalformedFrames);

        // The smallest chunk there is: zero bytes, no data frame at all.
        var empty = ChunkStore.IdOf([]);
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(empty, 0, "n1", "w"));
            await connection.ReceiveAsync<StoreChunkReady>();
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
        Assert.True(reply.Durable, reply.Error);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(empty));
    }

    [Theory]
    [InlineData(new[] { 0 })]             // An empty data frame.
    [InlineData(new[] { C + 1 })]         // One frame larger than announced.
    [InlineData(new[] { C - 10, 11 })]    // The second frame runs over by one byte.
    public void Chunk_data_that_overruns_its_announced_size_is_counted_and_nothing_is_stored(int[] frames)
    {
        using var cluster = Create(seed: 33);
        var data = KeplerCluster.Bytes(C + 1, 3);
        var id = ChunkStore.IdOf(data.AsSpan(0, C));
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w"));
            await connection.ReceiveAsync<StoreChunkReady>();
            var at = 0;
            foreach (var length in frames)
            {
                await connection.SendAsync(new ChunkDataFrame(data.AsMemory(at, length)));
                at += length;
            }

            return await connection.ReceiveAsync();
        });
        Assert.Null(reply);
        Assert.Equal(1, cluster.Kepler(1).Metrics.MalformedFrames);
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(id));
        Assert.Null(cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));
    }

    [Fact]
    public void Chunk_data_in_several_frames_that_fill_the_size_exactly_is_stored_and_claimed()
    {
        using var cluster = Create(seed: 34);
        var data = KeplerCluster.Bytes(C, 4);
        var id = ChunkStore.IdOf(data);
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            await connection.ReceiveAsync<StoreChunkReady>();
            await connection.SendAsync(new ChunkDataFrame(data.AsMemory(0, 100)));
            await connection.SendAsync(new ChunkDataFrame(data.AsMemory(100, C - 101)));
            await connection.SendAsync(new ChunkDataFrame(data.AsMemory(C - 1, 1)));
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
        Assert.Equal(new StoreChunkReply(id, true, null), reply);
        Assert.Equal(data, cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));
        Assert.Equal(C, cluster.Kepler(1).Meta.GetChunk(id)!.SizeBytes);
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
        // The copy was created by write w1 (orphan claims): tracked, so an abandonment of w1 can collect it.
        Assert.Equal(1, cluster.Kepler(1).OrphanCandidates);
    }

    [Fact]
    public void A_second_sender_of_a_chunk_being_received_is_answered_busy()
    {
        using var cluster = Create(seed: 35);
        var data = KeplerCluster.Bytes(C, 5);
        var id = ChunkStore.IdOf(data);
        var (second, first) = Exchange(cluster, async (connect, connection) =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            await connection.ReceiveAsync<StoreChunkReady>();
            using var again = await connect();
            await again.SendAsync(new StoreChunkRequest(id, C, "n1", "w2"));
            var other = await again.ReceiveAsync<StoreChunkReply>();
            await connection.SendAsync(new ChunkDataFrame(data));
            return (other, await connection.ReceiveAsync<StoreChunkReply>());
        });
        Assert.False(second.Durable);
        Assert.Equal(StoreChunkReply.Busy, second.Error);
        Assert.True(first.Durable, first.Error);
    }

    [Fact]
    public void The_store_after_incoming_stores_max_is_answered_busy_and_the_one_before_is_not()
    {
        using var cluster = Create(seed: 36);
        var answers = Exchange(cluster, async (connect, _) =>
        {
            var open = new List<IStreamConnection>();
            var replies = new List<TransferFrame>();
            for (var i = 0; i <= KeplerNode.IncomingStoresMax; i++)
            {
                var connection = await connect();
                open.Add(connection);
                await connection.SendAsync(new StoreChunkRequest(ChunkStore.IdOf(KeplerCluster.Bytes(C, 100 + i)), C,
                    "n1", "w"));
                replies.Add(FrameCodec.Decode((await connection.ReceiveAsync())!.Value));
            }

            open.ForEach(c => c.Dispose());
            return replies;
        });
        Assert.All(answers.Take(KeplerNode.IncomingStoresMax), a => Assert.IsType<StoreChunkReady>(a));
        var last = Assert.IsType<StoreChunkReply>(answers[^1]);
        Assert.Equal(StoreChunkReply.Busy, last.Error);
    }

    public static TheoryData<string, int, string?> BadAbandons() => new()
    {
        { "", 1, null },
        { new string('r', RequestIdLengthMax + 1), 1, null },
        { "w", AbandonChunksRequest.ChunkIdsMax + 1, null },
        { "w", 2, "not-a-chunk-id" },
    };

    [Theory]
    [MemberData(nameof(BadAbandons))]
    public void An_abandonment_out_of_bounds_is_counted_and_closes_the_connection(string requestId, int ids,
        string? badId)
    {
        using var cluster = Create(seed: 37);
        var tracked = StoreClaimed(cluster, "w");
        var chunkIds = Enumerable.Range(0, ids).Select(i => ChunkStore.IdOf(KeplerCluster.Bytes(8, i))).ToArray();
        chunkIds[0] = tracked;
        if (badId is not null)
        {
            chunkIds[^1] = badId;
        }

        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new AbandonChunksRequest(requestId, chunkIds));
            return await connection.ReceiveAsync();
        });
        Assert.Null(reply);
        Assert.Equal(1, cluster.Kepler(1).Metrics.MalformedFrames);
        AssertStillClaimed(cluster, tracked);
    }

    [Fact]
    public void An_abandonment_at_every_limit_is_applied()
    {
        using var cluster = Create(seed: 38);
        var longest = new string('r', RequestIdLengthMax);
        var tracked = StoreClaimed(cluster, longest);
        var chunkIds = Enumerable.Range(0, AbandonChunksRequest.ChunkIdsMax)
            .Select(i => ChunkStore.IdOf(KeplerCluster.Bytes(8, i))).ToArray();
        chunkIds[^1] = tracked;
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new AbandonChunksRequest(longest, chunkIds));
            return await connection.ReceiveAsync<AbandonChunksReply>();
        });
        Assert.True(reply.Applied);
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
        // The claim ended: after the orphan grace the copy is collected.
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(tracked) is null,
            4 * Quiet.OrphanGraceMicroseconds), "the abandoned copy to be collected as an orphan");
    }

    [Fact]
    public void Fetching_an_invalid_id_or_an_unknown_path_answers_nothing_found_and_keeps_the_connection()
    {
        using var cluster = Create(seed: 39);
        var (fetch, manifest, unknown) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new FetchChunkRequest("../../etc/passwd"));
            var fetched = await connection.ReceiveAsync<FetchChunkReply>();
            await connection.SendAsync(new GetManifestRequest("/not//a/path"));
            var got = await connection.ReceiveAsync<GetManifestReply>();
            await connection.SendAsync(new GetManifestRequest("no/such/file"));
            return (fetched, got, await connection.ReceiveAsync<GetManifestReply>());
        });
        Assert.False(fetch.Found);
        Assert.Equal(0, fetch.SizeBytes);
        Assert.Null(manifest.Manifest);
        Assert.Null(unknown.Manifest);
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
    }

    private static KeplerCluster Create(ulong seed) => CraftedExchange.Create(seed, Quiet);


    /// <summary>Stores a chunk on n2 under write <paramref name="requestId"/> (tracked there for orphans).</summary>
    private static string StoreClaimed(KeplerCluster cluster, string requestId)
    {
        var data = KeplerCluster.Bytes(C, 77);
        var id = ChunkStore.IdOf(data);
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", requestId));
            await connection.ReceiveAsync<StoreChunkReady>();
            await connection.SendAsync(new ChunkDataFrame(data));
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
        Assert.True(reply.Durable, reply.Error);
        Assert.Equal(1, cluster.Kepler(1).OrphanCandidates);
        return id;
    }

    private static void AssertStillClaimed(KeplerCluster cluster, string id)
    {
        cluster.Sim.RunFor(4 * Quiet.OrphanGraceMicroseconds);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
        Assert.Equal(1, cluster.Kepler(1).OrphanCandidates);
    }
}
