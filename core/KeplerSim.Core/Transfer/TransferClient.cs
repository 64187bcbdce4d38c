using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Transfer;

/// <summary>
/// The requesting side of the transfer protocol (docs/PROTOCOL.md, "Transfer connections"): one exchange at a time
/// per connection, connections reused per peer (<see cref="TransferChannel.ExchangeAsync{T}"/>), every step
/// bounded by the transfer timeout. Its peer is the <see cref="TransferServer"/> of another node. Chunk stores carry
/// the runtime cluster settings both ways (<paramref name="membership"/>'s; docs/PROTOCOL.md).
/// </summary>
internal sealed class TransferClient(NodeId self, TransferChannel channel, ChunkStore store,
    Membership.SwimMember? membership)
{
    /// <summary>Sends one request and waits (bounded) for its one-frame reply.</summary>
    public Task<TReply> RequestAsync<TReply>(NodeId node, TransferFrame request)
        where TReply : TransferFrame =>
        channel.ExchangeAsync(node, async connection =>
        {
            await channel.WithTimeoutAsync(connection.SendAsync(request), connection, "send to " + node);
            var reply = await channel.WithTimeoutAsync(connection.ReceiveAsync<TReply>(), connection,
                "reply from " + node);
            connection.Finish();
            return reply;
        });

    /// <summary>
    /// Offers a chunk to <paramref name="node"/> and streams its bytes (loaded only if the node lacks it, after
    /// <paramref name="beforeData"/> — the bandwidth cap). Null when the node reports the chunk durable (its
    /// acknowledgement); else why not. Served by <see cref="TransferServer"/> (<c>ServeStoreAsync</c>).
    /// </summary>
    public Task<string?> StoreChunkAsync(NodeId node, string id, long sizeBytes,
        Func<Task<ReadOnlyMemory<byte>?>> load, Func<long, Task> beforeData, string? requestId = null) =>
        channel.ExchangeAsync(node, async connection =>
        {
            await channel.WithTimeoutAsync(
                connection.SendAsync(new StoreChunkRequest(id, sizeBytes, self.Value, requestId,
                    membership?.Settings)),
                connection, "send to " + node);
            var answer = await channel.WithTimeoutAsync(connection.ReceiveAsync<TransferFrame>(), connection,
                "offer reply");
            if (answer is StoreChunkReply early)
            {
                TransferChannel.AdoptSettings(membership, early.Settings);
                connection.Finish();
                return early.Durable && early.ChunkId == id ? null : early.Error ?? "refused";
            }

            if (answer is not StoreChunkReady || await load() is not { } data || data.Length != sizeBytes)
            {
                // The exchange stops half-way (the peer waits for bytes that never come): the connection closes.
                return answer is StoreChunkReady ? "local copy unavailable" : "unexpected offer reply";
            }

            await beforeData(data.Length);
            await SendDataAsync(connection, node, data);
            var reply = await channel.WithTimeoutAsync(connection.ReceiveAsync<StoreChunkReply>(), connection,
                "store reply from " + node);
            TransferChannel.AdoptSettings(membership, reply.Settings);
            connection.Finish();
            return reply.Durable && reply.ChunkId == id ? null : reply.Error ?? "refused";
        });

    /// <summary>
    /// Offers a page of chunks to <paramref name="node"/> at once (<see cref="OfferChunksRequest"/>, the repair
    /// scan's batched offer): the positions of those it lacks, ascending; every other one is durable there. Served by
    /// <see cref="TransferServer"/> (<c>ServeOfferChunksAsync</c>); a reply that names a position twice, out of order
    /// or out of range is a <see cref="ProtocolException"/>.
    /// </summary>
    public Task<int[]> OfferChunksAsync(NodeId node, ChunkOffer[] chunks) =>
        channel.ExchangeAsync(node, async connection =>
        {
            await channel.WithTimeoutAsync(
                connection.SendAsync(new OfferChunksRequest(chunks, membership?.Settings)), connection,
                "send to " + node);
            var reply = await channel.WithTimeoutAsync(connection.ReceiveAsync<OfferChunksReply>(), connection,
                "offer reply from " + node);
            if (reply.Lacking is not { } lacking || !IsAscendingWithin(lacking, chunks.Length))
            {
                throw new ProtocolException($"offer reply from {node} names positions out of order or range");
            }

            TransferChannel.AdoptSettings(membership, reply.Settings);
            connection.Finish();
            return lacking;
        });

    /// <summary>Whether <paramref name="positions"/> ascend strictly within 0..<paramref name="count"/> - 1.</summary>
    internal static bool IsAscendingWithin(int[] positions, int count)
    {
        for (var i = 0; i < positions.Length; i++)
        {
            if (positions[i] < 0 || positions[i] >= count || (i > 0 && positions[i] <= positions[i - 1]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Fetches and verifies a chunk from <paramref name="node"/>; null if missing, bad or slow.</summary>
    public async Task<byte[]?> FetchChunkAsync(NodeId node, string id)
    {
        try
        {
            var data = await channel.ExchangeAsync(node, connection => ReceiveChunkAsync(connection, node, id));

            // Never trust a replica: the bytes must hash to the id.
            return data is not null && (await store.HashAsync(data)).Id.Hex == id ? data : null;
        }
        catch (Exception e) when (TransferChannel.IsTransferFailure(e))
        {
            return null;
        }
    }

    private async Task SendDataAsync(IStreamConnection connection, NodeId node, ReadOnlyMemory<byte> data)
    {
        var segment = channel.SegmentBytes();
        for (var at = 0; at < data.Length; at += segment)
        {
            var part = data.Slice(at, Math.Min(segment, data.Length - at));
            await channel.WithTimeoutAsync(connection.SendAsync(new ChunkDataFrame(part)), connection,
                "send to " + node);
        }
    }

    private async Task<byte[]?> ReceiveChunkAsync(PooledConnection connection, NodeId node, string id)
    {
        await channel.WithTimeoutAsync(connection.SendAsync(new FetchChunkRequest(id)), connection,
            "send to " + node);
        var reply = await channel.WithTimeoutAsync(connection.ReceiveAsync<FetchChunkReply>(), connection,
            "fetch reply from " + node);
        if (!reply.Found)
        {
            connection.Finish();
            return null;
        }

        if (reply.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax)
        {
            throw new ProtocolException($"fetch reply announces {reply.SizeBytes} bytes");
        }

        var data = new byte[reply.SizeBytes];
        for (var at = 0; at < data.Length;)
        {
            var frame = await channel.WithTimeoutAsync(connection.ReceiveAsync<ChunkDataFrame>(), connection,
                "chunk data from " + node);
            if (frame.Data.Length == 0 || at + frame.Data.Length > data.Length)
            {
                throw new ProtocolException("chunk data overruns the announced size");
            }

            frame.Data.CopyTo(data.AsMemory(at));
            at += frame.Data.Length;
        }

        connection.Finish();
        return data;
    }
}
