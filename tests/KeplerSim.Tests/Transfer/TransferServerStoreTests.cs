using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Transfer.CraftedExchange;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// What a store does to the receiver's state (docs/PROTOCOL.md, "Transfer connections"): a chunk is acknowledged
/// only with its file there (a record whose file is gone is received again; a file without a record is recorded);
/// only a copy a write brought is that write's to collect when it is abandoned, and a copy two writes claimed stays
/// until both abandon it; bytes that do not hash to the id are refused and counted; a "busy" answer keeps the
/// connection; the cluster settings a store carries are adopted. Frames are crafted on a raw connection from n1 to
/// n2 (as <see cref="TransferServerTests"/>). Written for the Stryker survivors of TransferServer.cs and
/// TransferChannel.cs (docs/TESTING.md, "Transfer/ survivors, fifth session").
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferServerStoreTests
{
    private const int C = KeplerCluster.ChunkSize;

    private static readonly KeplerOptions Quiet = CraftedExchange.Quiet with { ScrubChunksPerSecond = 1 };

    [Fact]
    public void A_chunk_on_record_whose_file_is_gone_is_received_again_and_is_not_the_new_writes_to_collect()
    {
        using var cluster = Create(seed: 61, Quiet);
        var data = KeplerCluster.Bytes(C, 1);
        var id = ChunkStore.IdOf(data);
        Assert.True(Store(cluster, id, data, requestId: null).Durable); // A repair's copy: no write claims it.
        Assert.Equal(0, cluster.Kepler(1).OrphanCandidates);
        cluster.Sim.Await(cluster.Nodes[1].Spawn(runtime => runtime.Disk.DeleteAsync(ChunkStore.PathOf(id))),
            "the file to go");
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id)); // Still on record: scrub has not looked yet.

        // Scrub is on, so a chunk on record is confirmed from the index, but only with its file there: the offer
        // must ask for the bytes, not answer "durable" for a copy that does not exist.
        var (first, reply) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            var first = FrameCodec.Decode((await connection.ReceiveAsync())!.Value);
            StoreChunkReply? reply = null;
            if (first is StoreChunkReady)
            {
                await connection.SendAsync(new ChunkDataFrame(data));
                reply = await connection.ReceiveAsync<StoreChunkReply>();
            }

            return (first, reply);
        });
        Assert.IsType<StoreChunkReady>(first);
        Assert.True(reply!.Durable, reply.Error);
        Assert.Equal(data, cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));

        // The copy was on record before w1 sent it: w1's abandonment must not collect it.
        Assert.Equal(0, cluster.Kepler(1).OrphanCandidates);
        Abandon(cluster, "w1", id);
        cluster.Sim.RunFor(4 * Quiet.OrphanGraceMicroseconds);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
        Assert.Equal(data, cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));
    }

    [Fact]
    public void A_chunk_file_without_a_record_is_acknowledged_recorded_and_not_the_writes_to_collect()
    {
        using var cluster = Create(seed: 62, Quiet with { ScrubChunksPerSecond = 0 });
        var data = KeplerCluster.Bytes(C, 2);
        var id = ChunkStore.IdOf(data);
        var path = ChunkStore.PathOf(id);
        cluster.Sim.Await(cluster.Nodes[1].Spawn(async runtime =>
        {
            await runtime.Disk.CreateDirectoryAsync(path[..^65]);
            await using var file = await runtime.Disk.CreateAsync(path);
            await file.AppendAsync(data);
            await file.FsyncAsync();
        }), "the unrecorded file");
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(id));

        // Its bytes verify, so the offer is answered durable at once; the copy it promises must be on record.
        var reply = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
        Assert.True(reply.Durable, reply.Error);
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(id) is not null, SimHarness.Second),
            "the acknowledged copy to be on record");

        // w1 sent no bytes: the copy was here before it, so its abandonment does not collect it.
        Assert.Equal(0, cluster.Kepler(1).OrphanCandidates);
        Abandon(cluster, "w1", id);
        cluster.Sim.RunFor(4 * Quiet.OrphanGraceMicroseconds);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
    }

    [Fact]
    public void A_chunk_one_write_brought_and_another_offered_again_is_collected_only_once_both_abandon_it()
    {
        using var cluster = Create(seed: 63, Quiet);
        var data = KeplerCluster.Bytes(C, 3);
        var id = ChunkStore.IdOf(data);
        Assert.True(Store(cluster, id, data, "w1").Durable);
        Assert.Equal(1, cluster.Kepler(1).OrphanCandidates);

        // w2 offers it too: on record, so confirmed from the index without the bytes; w2 now claims it as well.
        var again = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w2"));
            return await connection.ReceiveAsync<StoreChunkReply>();
        });
        Assert.True(again.Durable, again.Error);
        Assert.Equal(1, cluster.Kepler(1).OrphanCandidates);

        Abandon(cluster, "w1", id);
        cluster.Sim.RunFor(4 * Quiet.OrphanGraceMicroseconds);
        Assert.NotNull(cluster.Kepler(1).Meta.GetChunk(id));
        Abandon(cluster, "w2", id);
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(1).Meta.GetChunk(id) is null,
            4 * Quiet.OrphanGraceMicroseconds), "the copy both abandoned writes claimed to be collected");
    }

    [Fact]
    public void Bytes_that_do_not_hash_to_the_offered_id_are_refused_counted_and_never_recorded()
    {
        using var cluster = Create(seed: 64, Quiet);
        var id = ChunkStore.IdOf(KeplerCluster.Bytes(C, 4));
        var events = new List<KeplerEvent>();
        cluster.Nodes[1].Runtime!.Events.Stream.Subscribe(events.Add);
        var (reply, next) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            await connection.ReceiveAsync<StoreChunkReady>();
            await connection.SendAsync(new ChunkDataFrame(KeplerCluster.Bytes(C, 5)));
            var reply = await connection.ReceiveAsync<StoreChunkReply>();
            await connection.SendAsync(new GetManifestRequest("f"));
            return (reply, await connection.ReceiveAsync<GetManifestReply>());
        });
        Assert.False(reply.Durable);
        Assert.StartsWith("mismatch", reply.Error, StringComparison.Ordinal);
        Assert.Equal(1, cluster.Kepler(1).Metrics.ChunksRejected);
        // Published with the sender, as the operator's record of a peer that sent bad bytes.
        Assert.Equal(id, Assert.Single(events.OfType<ChunkRejected>(), e => e.Peer == "n1").ChunkId);
        Assert.Null(cluster.Kepler(1).Meta.GetChunk(id));
        Assert.Null(cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));
        Assert.Equal(0, cluster.Kepler(1).OrphanCandidates);
        Assert.Null(next.Manifest); // The refusal is an answer, not a broken exchange: the connection serves on.
    }

    [Fact]
    public void A_busy_answer_leaves_the_connection_open_for_the_next_request()
    {
        using var cluster = Create(seed: 65, Quiet);
        var data = KeplerCluster.Bytes(C, 6);
        var id = ChunkStore.IdOf(data);
        var (busy, next) = Exchange(cluster, async (connect, connection) =>
        {
            await connection.SendAsync(new StoreChunkRequest(id, C, "n1", "w1"));
            await connection.ReceiveAsync<StoreChunkReady>();
            using var other = await connect();
            await other.SendAsync(new StoreChunkRequest(id, C, "n1", "w2"));
            var busy = await other.ReceiveAsync<StoreChunkReply>();
            await other.SendAsync(new GetManifestRequest("f"));
            var next = await other.ReceiveAsync<GetManifestReply>();
            await connection.SendAsync(new ChunkDataFrame(data));
            await connection.ReceiveAsync<StoreChunkReply>();
            return (busy, next);
        });
        Assert.Equal(StoreChunkReply.Busy, busy.Error);
        Assert.Null(next.Manifest);
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
    }

    [Fact]
    public void The_cluster_settings_a_store_carries_are_adopted_before_it_is_answered()
    {
        using var cluster = KeplerCluster.Create(2, seed: 66, Quiet);
        var n2 = cluster.Kepler(1).Membership!;
        var newer = new ClusterSettings(1, (n2.Settings?.Version ?? 0) + 1_000, "n1");
        var data = KeplerCluster.Bytes(C, 7);
        var (reply, held) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new StoreChunkRequest(ChunkStore.IdOf(data), C, "n1", "w1", newer));
            await connection.ReceiveAsync<StoreChunkReady>();
            var held = n2.Settings;
            await connection.SendAsync(new ChunkDataFrame(data));
            return (await connection.ReceiveAsync<StoreChunkReply>(), held);
        });

        // n1's own SWIM never heard of these settings: only the store carried them.
        Assert.Equal(newer, held);
        Assert.Equal(newer, reply.Settings);
        Assert.Equal(1, cluster.Kepler(1).ReplicationFactor);
    }


    private static void Abandon(KeplerCluster cluster, string requestId, string id) =>
        Assert.True(Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new AbandonChunksRequest(requestId, [id]));
            return await connection.ReceiveAsync<AbandonChunksReply>();
        }).Applied);

}
