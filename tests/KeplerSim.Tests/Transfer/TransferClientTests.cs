using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// The requesting side of the transfer protocol (docs/PROTOCOL.md, "Transfer connections"), against n2's real
/// transfer server and against a peer that breaks the protocol: a chunk of any size (empty, one data frame, many,
/// the largest there is) comes back whole, a clean exchange leaves its connection for the next one, an answer that
/// is not a durable copy of the chunk offered is never taken for one, a reply that lies about its size or overruns
/// it is a failure (null, never a crash) whose connection is not reused, and a silent peer fails the exchange after
/// one transfer timeout, not retried. The client under test is a <see cref="TransferClient"/> of its own on n1's
/// runtime (its own pool and metrics), so nothing else of n1 shares its connections. Written for the Stryker
/// survivors of TransferClient.cs and TransferChannel.cs (docs/TESTING.md, "Transfer/ survivors, fifth session").
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferClientTests
{
    private const int C = KeplerCluster.ChunkSize;
    private const string Fake = "fake";

    private static readonly KeplerOptions Quiet = new()
    {
        ChunkSizeBytes = C,
        ReplicationFactor = 2,
        AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
        RepairScanIntervalMicroseconds = 3_600 * SimHarness.Second,
    };

    [Fact]
    public void Chunks_of_every_size_stored_and_fetched_come_back_whole_over_one_connection()
    {
        using var cluster = Create(seed: 41);
        var n2 = new NodeId("n2");
        var (result, metrics) = Run(cluster, async (client, channel, _) =>
        {
            var segment = channel.SegmentBytes();
            // Empty; one frame; exactly two frames (the server must send no empty third); two frames and a byte.
            var chunks = new[] { 0, C, 2 * segment, 2 * segment + 1 }
                .Select((size, i) => KeplerCluster.Bytes(size, 50 + i)).ToList();
            var throttled = new List<long>();
            var stored = new List<string?>();
            foreach (var data in chunks.Append(chunks[1]))
            {
                // The last one offers a chunk n2 already holds: answered durable at once, no bytes sent.
                stored.Add(await client.StoreChunkAsync(n2, ChunkStore.IdOf(data), data.Length,
                    () => Task.FromResult<ReadOnlyMemory<byte>?>(data), bytes =>
                    {
                        throttled.Add(bytes);
                        return Task.CompletedTask;
                    }));
            }

            // A chunk n2 lacks, then every one it has: the "not found" leaves the connection for them.
            var missing = await client.FetchChunkAsync(n2, ChunkStore.IdOf(KeplerCluster.Bytes(C, 99)));
            var fetched = new List<byte[]?>();
            foreach (var data in chunks)
            {
                fetched.Add(await client.FetchChunkAsync(n2, ChunkStore.IdOf(data)));
            }

            return (chunks, stored, throttled, fetched, missing);
        });

        Assert.All(result.stored, error => Assert.Null(error));
        // The bandwidth cap is asked for each chunk's bytes before they go, and not for the one n2 had.
        Assert.Equal(result.chunks.Select(c => (long)c.Length), result.throttled);
        for (var i = 0; i < result.chunks.Count; i++)
        {
            Assert.Equal(result.chunks[i], result.fetched[i]);
        }

        Assert.Null(result.missing);
        // Every exchange, the early "durable" and the "not found" included, left the connection for the next.
        Assert.Equal(1, metrics.TransferConnectionsOpened);
        Assert.Equal(result.chunks.Count * 2 + 1, metrics.TransferConnectionsReused);
    }

    [Fact]
    public void A_store_waits_for_the_bandwidth_cap_before_it_sends_the_bytes()
    {
        using var cluster = Create(seed: 42);
        var data = KeplerCluster.Bytes(C, 60);
        var id = ChunkStore.IdOf(data);
        var (error, waited) = Run(cluster, async (client, _, runtime) =>
        {
            var start = runtime.Clock.MonotonicMicroseconds;
            var error = await client.StoreChunkAsync(new NodeId("n2"), id, data.Length,
                () => Task.FromResult<ReadOnlyMemory<byte>?>(data),
                _ => runtime.Clock.DelayAsync(3 * SimHarness.Second, CancellationToken.None));
            return (error, runtime.Clock.MonotonicMicroseconds - start);
        }).Value;
        Assert.Null(error);
        Assert.True(waited >= 3 * SimHarness.Second, $"the store took {waited} us, the cap asked for 3 s");
        Assert.Equal(data, cluster.Nodes[1].Disk.Peek(ChunkStore.PathOf(id)));
    }

    [Fact]
    public void A_chunk_of_the_largest_size_is_fetched()
    {
        using var cluster = Create(seed: 43);
        var data = new byte[ChunkStore.ChunkSizeBytesMax];
        data[^1] = 7;
        var id = ChunkStore.IdOf(data);
        AddFake(cluster, async connection =>
        {
            await connection.ReceiveAsync<FetchChunkRequest>();
            await connection.SendAsync(new FetchChunkReply(id, true, data.Length, null));
            for (var at = 0; at < data.Length; at += FrameCodec.DataFrameBytesMax)
            {
                await connection.SendAsync(new ChunkDataFrame(data.AsMemory(at, FrameCodec.DataFrameBytesMax)));
            }
        });
        var fetched = Run(cluster, (client, _, _) => client.FetchChunkAsync(new NodeId(Fake), id)).Value;
        Assert.NotNull(fetched);
        Assert.True(data.AsSpan().SequenceEqual(fetched), "the largest chunk came back whole");
    }

    public static TheoryData<string, long, int[]> LyingFetchReplies() => new()
    {
        { "a negative size", -1, [] },
        { "a frame past the announced size", 10, [11] },
        { "a second frame past it", 10, [6, 6] },
        { "an empty frame", 10, [0, 10] },
    };

    [Theory]
    [MemberData(nameof(LyingFetchReplies))]
    public void A_fetch_reply_that_lies_about_its_size_is_a_failure_and_its_connection_is_not_reused(string what,
        long announced, int[] frames)
    {
        using var cluster = Create(seed: 44);
        var data = KeplerCluster.Bytes(12, 61);
        var id = ChunkStore.IdOf(data.AsSpan(0, 10));
        var served = 0;
        AddFake(cluster, async connection =>
        {
            served++;
            await connection.ReceiveAsync<FetchChunkRequest>();
            await connection.SendAsync(new FetchChunkReply(id, true, announced, null));
            var at = 0;
            foreach (var length in frames)
            {
                await connection.SendAsync(new ChunkDataFrame(data.AsMemory(at, length)));
                at += length;
            }

            await connection.ReceiveAsync(); // Held open until the client closes it.
        });
        var (fetched, pooled) = Run(cluster, async (client, channel, _) =>
            (await client.FetchChunkAsync(new NodeId(Fake), id), channel.PooledConnections)).Value;
        Assert.Null(fetched);
        Assert.Equal(1, served);
        Assert.True(pooled == 0, $"{what}: the connection went back to the pool");
    }

    [Fact]
    public void An_offer_answered_busy_or_for_another_chunk_or_refused_after_the_bytes_is_not_a_copy()
    {
        using var cluster = Create(seed: 45);
        var data = KeplerCluster.Bytes(C, 62);
        var id = ChunkStore.IdOf(data);
        var other = ChunkStore.IdOf(KeplerCluster.Bytes(C, 63));
        var replies = new Queue<Func<IStreamConnection, Task>>(
        [
            c => c.SendAsync(new StoreChunkReply(id, false, StoreChunkReply.Busy)),
            c => c.SendAsync(new StoreChunkReply(other, true, null)),
            async c =>
            {
                await c.SendAsync(new StoreChunkReady(id));
                await c.ReceiveAsync<ChunkDataFrame>();
                await c.SendAsync(new StoreChunkReply(id, false, "mismatch"));
            },
            async c =>
            {
                await c.SendAsync(new StoreChunkReady(id));
                await c.ReceiveAsync<ChunkDataFrame>();
                await c.SendAsync(new StoreChunkReply(other, true, null));
            },
        ]);
        AddFake(cluster, async connection =>
        {
            while (replies.Count > 0 && await connection.ReceiveAsync() is not null)
            {
                await replies.Dequeue()(connection);
            }

            await connection.ReceiveAsync();
        });
        var answers = Run(cluster, async (client, _, _) =>
        {
            var answers = new List<string?>();
            for (var i = 0; i < 4; i++)
            {
                answers.Add(await client.StoreChunkAsync(new NodeId(Fake), id, data.Length,
                    () => Task.FromResult<ReadOnlyMemory<byte>?>(data), _ => Task.CompletedTask));
            }

            return answers;
        }).Value;
        Assert.Equal([StoreChunkReply.Busy, "refused", "mismatch", "refused"], answers);
    }

    [Fact]
    public void A_peer_that_stops_answering_fails_the_exchange_after_one_transfer_timeout_without_a_retry()
    {
        using var cluster = Create(seed: 46);
        var accepted = 0;
        AddFake(cluster, async connection =>
        {
            accepted++;
            // Answers the first request, then holds the connection open without a word.
            await connection.ReceiveAsync<GetManifestRequest>();
            await connection.SendAsync(new GetManifestReply(null));
            await connection.ReceiveAsync();
            await connection.ReceiveAsync();
        });
        var outcome = Run(cluster, async (client, channel, runtime) =>
        {
            var fake = new NodeId(Fake);
            await client.RequestAsync<GetManifestReply>(fake, new GetManifestRequest("f"));
            var start = runtime.Clock.MonotonicMicroseconds;
            Exception? failure = null;
            try
            {
                await client.RequestAsync<GetManifestReply>(fake, new GetManifestRequest("f"));
            }
            catch (Exception e)
            {
                failure = e;
            }

            return (failure, runtime.Clock.MonotonicMicroseconds - start, channel.PooledConnections);
        });
        var (failure, took, pooled) = outcome.Value;

        // The reused connection timed out: a timeout is not retried on a fresh connection (the request may have
        // been served), and the failure says it was a timeout.
        Assert.IsType<TimeoutException>(failure);
        Assert.InRange(took, Quiet.TransferTimeoutMicroseconds, Quiet.TransferTimeoutMicroseconds + SimHarness.Second);
        Assert.Equal(1, accepted);
        Assert.Equal(0, pooled);
        Assert.Equal(0, outcome.Metrics.TransferConnectionsStale);

        // The abandoned receive fails later, on its own; that is expected and must not fail the node.
        cluster.Sim.RunFor(2 * Quiet.TransferTimeoutMicroseconds);
        Assert.Equal(1, accepted);
    }

    [Fact]
    public void The_cluster_settings_a_store_reply_carries_are_adopted_by_the_sender()
    {
        using var cluster = KeplerCluster.Create(2, seed: 47, Quiet);
        var n1 = cluster.Kepler(0).Membership!;
        var early = new ClusterSettings(1, (n1.Settings?.Version ?? 0) + 1_000, Fake);
        var late = early with { Version = early.Version + 1 };
        var data = KeplerCluster.Bytes(C, 64);
        var id = ChunkStore.IdOf(data);
        AddFake(cluster, async connection =>
        {
            // The first offer is answered durable at once, the second after its bytes; each with newer settings.
            await connection.ReceiveAsync<StoreChunkRequest>();
            await connection.SendAsync(new StoreChunkReply(id, true, null, early));
            await connection.ReceiveAsync<StoreChunkRequest>();
            await connection.SendAsync(new StoreChunkReady(id));
            await connection.ReceiveAsync<ChunkDataFrame>();
            await connection.SendAsync(new StoreChunkReply(id, true, null, late));
            await connection.ReceiveAsync();
        });
        var (errors, afterEarly, afterLate) = Run(cluster, async (client, _, _) =>
        {
            Task<string?> StoreAsync() => client.StoreChunkAsync(new NodeId(Fake), id, data.Length,
                () => Task.FromResult<ReadOnlyMemory<byte>?>(data), _ => Task.CompletedTask);
            var first = await StoreAsync();
            var afterEarly = n1.Settings;
            var second = await StoreAsync();
            return (new[] { first, second }, afterEarly, n1.Settings);
        }, n1).Value;

        // The sender judges its own copy surplus by the factor: it must hold the receiver's newer settings at once.
        Assert.All(errors, e => Assert.Null(e));
        Assert.Equal(early, afterEarly);
        Assert.Equal(late, afterLate);
    }

    [Fact]
    public void A_store_abandoned_half_way_closes_its_connection_so_the_peer_stops_waiting_for_the_bytes()
    {
        using var cluster = Create(seed: 48);
        var data = KeplerCluster.Bytes(C, 65);
        var id = ChunkStore.IdOf(data);
        var (error, next, pooled) = Run(cluster, async (client, channel, runtime) =>
        {
            // n2 asks for the bytes, but the local copy is gone by then: the exchange stops half-way.
            var error = await client.StoreChunkAsync(new NodeId("n2"), id, data.Length,
                () => Task.FromResult<ReadOnlyMemory<byte>?>(null), _ => Task.CompletedTask);
            await runtime.Clock.DelayAsync(50_000);

            // Another sender of the chunk, well within n2's 5 s wait for data: n2 must have stopped receiving it.
            using var other = await runtime.Streams.ConnectAsync(cluster.Nodes[1].TransferAddress);
            await other.SendAsync(new StoreChunkRequest(id, data.Length, "n1", "w2"));
            return (error, FrameCodec.Decode((await other.ReceiveAsync())!.Value), channel.PooledConnections);
        }).Value;
        Assert.NotNull(error);
        Assert.IsType<StoreChunkReady>(next);
        Assert.Equal(0, pooled);
    }

    /// <summary>
    /// Seam audit (thirteenth session): a connect that completed after the transfer timeout gave up on it was never
    /// closed (TransferChannel's abandoned-task observer only awaited it), so the peer served an idle connection
    /// nobody would use until its idle limit; on a real node the socket stayed open too.
    /// </summary>
    [Fact]
    public void A_connect_that_completes_after_its_timeout_is_closed()
    {
        using var cluster = Create(seed: 41);
        var (disposed, _) = Run(cluster, async (_, channel, runtime) =>
        {
            var connect = new TaskCompletionSource<IStreamConnection>();
            await Assert.ThrowsAsync<TimeoutException>(() => channel.WithTimeoutAsync(connect.Task, null, "connect"));
            var late = new LateConnection();
            connect.SetResult(late);
            await runtime.Clock.DelayAsync(1_000);
            return late.Disposed;
        });
        Assert.True(disposed, "the late connection was closed");
    }

    private sealed class LateConnection : IStreamConnection
    {
        public bool Disposed { get; private set; }

        public NetAddress Remote => new("n2", 1);

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) =>
            Task.CompletedTask;

        public Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult<ReadOnlyMemory<byte>?>(null);

        public void Dispose() => Disposed = true;
    }

    private static KeplerCluster Create(ulong seed) =>
        KeplerCluster.Create(2, seed, Quiet, membership: MembershipMode.Static);

    /// <summary>
    /// Runs <paramref name="work"/> on n1 with a transfer client of its own (n2 is n2's real server, "fake" the
    /// peer <see cref="AddFake"/> made); returns its result and the client's metrics.
    /// </summary>
    private static (T Value, NodeMetrics Metrics) Run<T>(KeplerCluster cluster,
        Func<TransferClient, TransferChannel, NodeRuntime, Task<T>> work, SwimMember? membership = null)
    {
        var metrics = new NodeMetrics();
        var value = cluster.Sim.Await(cluster.Nodes[0].Spawn(async runtime =>
        {
            var channel = new TransferChannel(runtime, Quiet, metrics, node => AddressOf(cluster, node));
            var client = new TransferClient(runtime.Id, channel, cluster.Kepler(0).Store, membership);
            try
            {
                return await work(client, channel, runtime);
            }
            finally
            {
                channel.Close();
            }
        }), "the client's exchanges");
        return (value, metrics);
    }

    private static NetAddress AddressOf(KeplerCluster cluster, NodeId node) =>
        cluster.Sim.Nodes.Single(n => n.Name == node.Value).TransferAddress;

    /// <summary>Adds the node "fake", which serves every connection to it with <paramref name="serve"/>.</summary>
    private static void AddFake(KeplerCluster cluster, Func<IStreamConnection, Task> serve) =>
        cluster.Sim.AddNode(Fake, runtime => new FakePeer(runtime, serve)).Start();
}
