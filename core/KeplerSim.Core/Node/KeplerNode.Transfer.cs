using KeplerSim.Core.Manifests;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    // ---- Client side --------------------------------------------------------------------------------------

    /// <summary>Sends one request on a fresh connection and waits (bounded) for its reply.</summary>
    private async Task<TReply> RequestAsync<TReply>(NodeId node, TransferFrame request)
        where TReply : TransferFrame
    {
        using var connection = await WithTimeoutAsync(
            _runtime.Streams.ConnectAsync(TransferAddressOf(node)), null, "connect to " + node);
        await WithTimeoutAsync(connection.SendAsync(request), connection, "send to " + node);
        return await WithTimeoutAsync(connection.ReceiveAsync<TReply>(), connection, "reply from " + node);
    }

    /// <summary>Streams a chunk to <paramref name="node"/>; true when the node reports it durable.</summary>
    internal async Task<bool> SendChunkAsync(NodeId node, string id, ReadOnlyMemory<byte> data)
    {
        using var connection = await WithTimeoutAsync(
            _runtime.Streams.ConnectAsync(TransferAddressOf(node)), null, "connect to " + node);
        await WithTimeoutAsync(connection.SendAsync(new StoreChunkRequest(id, data.Length, Id.Value)), connection,
            "send to " + node);
        var segment = SegmentBytes();
        for (var at = 0; at < data.Length; at += segment)
        {
            var part = data.Slice(at, Math.Min(segment, data.Length - at)).ToArray();
            await WithTimeoutAsync(connection.SendAsync(new ChunkDataFrame(part)), connection, "send to " + node);
        }

        var reply = await WithTimeoutAsync(connection.ReceiveAsync<StoreChunkReply>(), connection,
            "store reply from " + node);
        return reply.Durable && reply.ChunkId == id;
    }

    /// <summary>Fetches and verifies a chunk from <paramref name="node"/>; null if it is missing, bad or slow.</summary>
    private async Task<byte[]?> FetchChunkAsync(NodeId node, string id)
    {
        try
        {
            using var connection = await WithTimeoutAsync(
                _runtime.Streams.ConnectAsync(TransferAddressOf(node)), null, "connect to " + node);
            await WithTimeoutAsync(connection.SendAsync(new FetchChunkRequest(id)), connection, "send to " + node);
            var reply = await WithTimeoutAsync(connection.ReceiveAsync<FetchChunkReply>(), connection,
                "fetch reply from " + node);
            if (!reply.Found || reply.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax)
            {
                return null;
            }

            var data = new byte[reply.SizeBytes];
            for (var at = 0; at < data.Length;)
            {
                var frame = await WithTimeoutAsync(connection.ReceiveAsync<ChunkDataFrame>(), connection,
                    "chunk data from " + node);
                if (frame.Data.Length == 0 || at + frame.Data.Length > data.Length)
                {
                    throw new ProtocolException("chunk data overruns the announced size");
                }

                frame.Data.CopyTo(data, at);
                at += frame.Data.Length;
            }

            // Never trust a replica: the bytes must hash to the id.
            return ChunkStore.IdOf(data) == id ? data : null;
        }
        catch (Exception e) when (IsTransferFailure(e))
        {
            return null;
        }
    }

    private int SegmentBytes() => Math.Min(FrameCodec.DataFrameBytesMax, _runtime.Streams.MaxFrameBytes - 64);

    private static bool IsTransferFailure(Exception e) =>
        e is StreamBrokenException or ProtocolException or TimeoutException or IOException;

    /// <summary>
    /// Awaits <paramref name="task"/> for at most the transfer timeout; on timeout the connection is closed (so
    /// the operation fails on its own) and <see cref="TimeoutException"/> is thrown.
    /// </summary>
    private async Task<T> WithTimeoutAsync<T>(Task<T> task, IStreamConnection? connection, string what)
    {
        await WithTimeoutAsync((Task)task, connection, what);
        return await task;
    }

    private async Task WithTimeoutAsync(Task task, IStreamConnection? connection, string what)
    {
        if (task.IsCompleted)
        {
            await task;
            return;
        }

        using var cancel = new CancellationTokenSource();
        var timeout = _runtime.Clock.DelayAsync(_options.TransferTimeoutMicroseconds, cancel.Token);
        if (await Task.WhenAny(task, timeout) != task)
        {
            connection?.Dispose();
            ObserveLater(task);
            throw new TimeoutException($"{what} timed out");
        }

        cancel.Cancel();
        await task;
    }

    private static void ObserveLater(Task task) =>
        _ = task.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);

    // ---- Server side --------------------------------------------------------------------------------------

    private async Task ServeAsync(IStreamConnection connection)
    {
        using (connection)
        {
            try
            {
                var first = await WithTimeoutAsync(connection.ReceiveAsync(), connection, "request");
                if (first is not { } bytes)
                {
                    return;
                }

                await DispatchAsync(connection, FrameCodec.Decode(bytes));
            }
            catch (ProtocolException e)
            {
                Metrics.MalformedFrames++;
                _runtime.Events.Publish(new MalformedFrame(connection.Remote.Host, e.Message));
            }
            catch (Exception e) when (IsTransferFailure(e))
            {
                // The peer went away or stalled; it will retry.
            }
        }
    }

    private Task DispatchAsync(IStreamConnection connection, TransferFrame request) => request switch
    {
        StoreChunkRequest store => ServeStoreAsync(connection, store),
        FetchChunkRequest fetch => ServeFetchAsync(connection, fetch),
        PutManifestRequest put => ServePutManifestAsync(connection, put),
        GetManifestRequest get => ServeGetManifestAsync(connection, get),
        _ => throw new ProtocolException($"unexpected first frame {request.GetType().Name}"),
    };

    private async Task ServeStoreAsync(IStreamConnection connection, StoreChunkRequest request)
    {
        if (!ChunkStore.IsValidId(request.ChunkId) || request.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax)
        {
            throw new ProtocolException($"bad store request for '{request.ChunkId}' of {request.SizeBytes} bytes");
        }

        string? error = null;
        await using (var writer = await Store.BeginWriteAsync(request.ChunkId))
        {
            for (long received = 0; received < request.SizeBytes;)
            {
                var frame = await WithTimeoutAsync(connection.ReceiveAsync<ChunkDataFrame>(), connection, "chunk data");
                if (frame.Data.Length == 0 || received + frame.Data.Length > request.SizeBytes)
                {
                    throw new ProtocolException("chunk data overruns the announced size");
                }

                await writer.AppendAsync(frame.Data);
                received += frame.Data.Length;
            }

            try
            {
                await writer.CommitAsync();
            }
            catch (ChunkMismatchException e)
            {
                error = "mismatch: bytes hash to " + e.Message;
                Metrics.ChunksRejected++;
                _runtime.Events.Publish(new ChunkRejected(request.ChunkId, request.Sender, "hash mismatch"));
            }
        }

        if (error is null)
        {
            Meta.Transaction(meta => RecordLocalChunk(meta, request.ChunkId, request.SizeBytes, requestId: null, replicate: false));
            _replication?.Kick();
        }

        await connection.SendAsync(new StoreChunkReply(request.ChunkId, error is null, error));
    }

    private async Task ServeFetchAsync(IStreamConnection connection, FetchChunkRequest request)
    {
        var result = ChunkStore.IsValidId(request.ChunkId) ? await Store.ReadAsync(request.ChunkId) : default;
        if (!result.IsOk)
        {
            await connection.SendAsync(new FetchChunkReply(request.ChunkId, false, 0, result.Status.ToString()));
            return;
        }

        var data = result.Data;
        await connection.SendAsync(new FetchChunkReply(request.ChunkId, true, data.Length, null));
        var segment = SegmentBytes();
        for (var at = 0; at < data.Length; at += segment)
        {
            await connection.SendAsync(new ChunkDataFrame(data.Slice(at, Math.Min(segment, data.Length - at)).ToArray()));
        }
    }

    private async Task ServePutManifestAsync(IStreamConnection connection, PutManifestRequest request)
    {
        Manifest manifest;
        try
        {
            manifest = ManifestCodec.Decode(request.Manifest);
        }
        catch (InvalidManifestException e)
        {
            throw new ProtocolException("bad manifest: " + e.Message, e);
        }

        ApplyManifest(manifest);
        await connection.SendAsync(new PutManifestReply(true, null));
    }

    private async Task ServeGetManifestAsync(IStreamConnection connection, GetManifestRequest request)
    {
        byte[]? bytes = null;
        if (FilePath.TryParse(request.Path, out var path, out _) && Meta.GetWinner(path.Value) is { } row)
        {
            bytes = ManifestCodec.Encode(FromRow(row));
        }

        await connection.SendAsync(new GetManifestReply(bytes));
    }
}
